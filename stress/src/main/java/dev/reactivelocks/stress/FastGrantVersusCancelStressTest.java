package dev.reactivelocks.stress;

import dev.reactivelocks.LockHandle;
import dev.reactivelocks.LockService;
import org.openjdk.jcstress.annotations.Actor;
import org.openjdk.jcstress.annotations.Arbiter;
import org.openjdk.jcstress.annotations.Expect;
import org.openjdk.jcstress.annotations.JCStressTest;
import org.openjdk.jcstress.annotations.Outcome;
import org.openjdk.jcstress.annotations.State;
import org.openjdk.jcstress.infra.results.II_Result;

/**
 * {@link GrantVersusCancelStressTest} with a fast-path holder: the waiter's queueing took the fast hold
 * over, so the holder's release fails its CAS on the state word and grants through the slow path, racing
 * the waiter's cancel. r1: the waiter received the grant; r2: the lock is free afterwards.
 */
@JCStressTest
@Outcome(id = "1, 1", expect = Expect.ACCEPTABLE, desc = "grant won: delivered to the waiter, which released it")
@Outcome(id = "0, 1", expect = Expect.ACCEPTABLE, desc = "cancel won, or the late grant was released")
@Outcome(id = ".*, 0", expect = Expect.FORBIDDEN, desc = "lock held by nobody yet unavailable")
@State
public class FastGrantVersusCancelStressTest {

    final LockService locks = LockService.inProcess();
    final LockHandle holder = Probe.holdThroughFastPath(locks, "x");
    final Probe waiter = locks.acquire("x").subscribeWith(new Probe());

    @Actor
    public void release() {
        holder.release().subscribe();
    }

    @Actor
    public void cancel() {
        waiter.cancel();
    }

    @Arbiter
    public void arbiter(II_Result r) {
        r.r1 = waiter.releaseIfGranted();
        r.r2 = Probe.free(locks, "x");
    }
}
