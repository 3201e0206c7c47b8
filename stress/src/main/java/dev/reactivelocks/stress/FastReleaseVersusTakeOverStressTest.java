package dev.reactivelocks.stress;

import dev.reactivelocks.LockHandle;
import dev.reactivelocks.LockInfo;
import dev.reactivelocks.LockService;
import org.openjdk.jcstress.annotations.Actor;
import org.openjdk.jcstress.annotations.Arbiter;
import org.openjdk.jcstress.annotations.Expect;
import org.openjdk.jcstress.annotations.JCStressTest;
import org.openjdk.jcstress.annotations.Outcome;
import org.openjdk.jcstress.annotations.State;
import org.openjdk.jcstress.infra.results.III_Result;

/**
 * A fast-path holder's release (it clears the name's holder reference, then CASes the state word) races an
 * inspection, whose slow-path step takes the fast hold over and waits for that reference: the release
 * writes it back when its CAS lost. r1: 1 = inspect saw the holder's token, 0 = inspect saw the lock free,
 * 2 = another token; r2: the lock is free afterwards; r3: a later fast holder is taken over with its own
 * token (a reference written back by the release is never taken for it).
 */
@JCStressTest
@Outcome(id = "1, 1, 1", expect = Expect.ACCEPTABLE, desc = "inspect before the release: the holder's token")
@Outcome(id = "0, 1, 1", expect = Expect.ACCEPTABLE, desc = "inspect after the release: free")
@Outcome(id = "2, .*, .*", expect = Expect.FORBIDDEN, desc = "inspect reported another holder's token")
@Outcome(id = ".*, 0, .*", expect = Expect.FORBIDDEN, desc = "lock held by nobody after the release")
@Outcome(id = ".*, .*, 0", expect = Expect.FORBIDDEN, desc = "a later holder reported with another token")
@State
public class FastReleaseVersusTakeOverStressTest {

    final LockService locks = LockService.inProcess();
    final LockHandle holder = Probe.holdThroughFastPath(locks, "x");
    volatile LockInfo seen;

    @Actor
    public void release() {
        holder.release().subscribe();
    }

    @Actor
    public void inspect() {
        seen = locks.inspect("x").block();
    }

    @Arbiter
    public void arbiter(III_Result r) {
        r.r1 = Probe.tokenSeen(seen, holder);
        r.r2 = Probe.free(locks, "x");
        LockHandle later = Probe.holdThroughFastPath(locks, "x");
        r.r3 = Probe.tokenSeen(locks.inspect("x").block(), later) == 1 ? 1 : 0;
        later.release().block();
    }
}
