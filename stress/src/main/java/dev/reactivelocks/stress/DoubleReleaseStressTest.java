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
 * Two threads release the same handle while a waiter queues. r1: the waiter holds the lock after both
 * releases; r2: the lock is busy while the waiter holds it (a double release must not free the waiter's
 * grant).
 */
@JCStressTest
@Outcome(id = "1, 1", expect = Expect.ACCEPTABLE, desc = "released once; the waiter holds the lock alone")
@Outcome(id = "1, 0", expect = Expect.FORBIDDEN, desc = "the second release freed the waiter's grant")
@Outcome(id = "0, .*", expect = Expect.FORBIDDEN, desc = "the waiter was never granted")
@State
public class DoubleReleaseStressTest {

    final LockService locks = LockService.inProcess();
    final LockHandle holder = locks.acquire("x").block();
    final Probe waiter = locks.acquire("x").subscribeWith(new Probe());

    @Actor
    public void releaseOnce() {
        holder.release().subscribe();
    }

    @Actor
    public void releaseTwice() {
        holder.release().subscribe();
    }

    @Arbiter
    public void arbiter(II_Result r) {
        r.r1 = waiter.handle() != null && waiter.handle().isHeld() ? 1 : 0;
        r.r2 = 1 - Probe.free(locks, "x");
    }
}
