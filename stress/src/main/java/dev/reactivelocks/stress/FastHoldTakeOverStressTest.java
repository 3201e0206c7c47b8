package dev.reactivelocks.stress;

import dev.reactivelocks.LockInfo;
import dev.reactivelocks.LockService;
import org.openjdk.jcstress.annotations.Actor;
import org.openjdk.jcstress.annotations.Arbiter;
import org.openjdk.jcstress.annotations.Expect;
import org.openjdk.jcstress.annotations.JCStressTest;
import org.openjdk.jcstress.annotations.Outcome;
import org.openjdk.jcstress.annotations.State;
import org.openjdk.jcstress.infra.results.II_Result;

/**
 * A fast-path acquire (one CAS on the name's state word) races an inspection, whose slow-path step takes a
 * fast hold over as a regular one. r1: 1 = inspect saw the lock held, with the holder's fencing token;
 * 0 = inspect saw it free; 2 = inspect saw it held with another token. r2: the lock is free once the
 * holder released (its release takes the slow path when the hold was taken over).
 */
@JCStressTest
@Outcome(id = "1, 1", expect = Expect.ACCEPTABLE, desc = "inspect after the grant: the holder's token")
@Outcome(id = "0, 1", expect = Expect.ACCEPTABLE, desc = "inspect before the grant: free")
@Outcome(id = "2, .*", expect = Expect.FORBIDDEN, desc = "inspect reported another holder's token")
@Outcome(id = ".*, 0", expect = Expect.FORBIDDEN, desc = "lock held by nobody after the release")
@State
public class FastHoldTakeOverStressTest {

    final LockService locks = LockService.inProcess();
    final Probe acquirer = new Probe();
    volatile LockInfo seen;

    {
        locks.acquire("x").block().release().block(); // the entry is kept: the next acquire is a fast one
    }

    @Actor
    public void acquire() {
        locks.acquire("x").subscribe(acquirer);
    }

    @Actor
    public void inspect() {
        seen = locks.inspect("x").block();
    }

    @Arbiter
    public void arbiter(II_Result r) {
        r.r1 = Probe.tokenSeen(seen, acquirer.handle());
        acquirer.releaseIfGranted();
        r.r2 = Probe.free(locks, "x");
    }
}
