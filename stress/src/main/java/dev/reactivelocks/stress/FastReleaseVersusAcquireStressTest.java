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
 * A fast-path holder releases (one CAS on the name's state word) while a new exclusive acquisition
 * subscribes: it takes the fast path when the release came first, otherwise it queues (the slow path takes
 * the hold over, and the release then grants the waiter). r1: the acquirer was granted; r2: the lock is free
 * once the arbiter released that grant.
 */
@JCStressTest
@Outcome(id = "1, 1", expect = Expect.ACCEPTABLE, desc = "granted (fast after the release, or handed over)")
@Outcome(id = "0, .*", expect = Expect.FORBIDDEN, desc = "the release was lost: the acquirer waits on a free lock")
@Outcome(id = "1, 0", expect = Expect.FORBIDDEN, desc = "lock held by nobody after its grants were released")
@State
public class FastReleaseVersusAcquireStressTest {

    final LockService locks = LockService.inProcess();
    final LockHandle holder = Probe.holdThroughFastPath(locks, "x");
    final Probe acquirer = new Probe();

    @Actor
    public void release() {
        holder.release().subscribe();
    }

    @Actor
    public void acquire() {
        locks.acquire("x").subscribe(acquirer);
    }

    @Arbiter
    public void arbiter(II_Result r) {
        r.r1 = acquirer.releaseIfGranted();
        r.r2 = Probe.free(locks, "x");
    }
}
