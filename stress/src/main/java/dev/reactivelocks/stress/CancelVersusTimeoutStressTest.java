package dev.reactivelocks.stress;

import dev.reactivelocks.LockHandle;
import dev.reactivelocks.LockInfo;
import dev.reactivelocks.LockOptions;
import dev.reactivelocks.LockService;
import dev.reactivelocks.LockTimeoutException;
import java.time.Duration;
import org.openjdk.jcstress.annotations.Actor;
import org.openjdk.jcstress.annotations.Arbiter;
import org.openjdk.jcstress.annotations.Expect;
import org.openjdk.jcstress.annotations.JCStressTest;
import org.openjdk.jcstress.annotations.Outcome;
import org.openjdk.jcstress.annotations.State;
import org.openjdk.jcstress.infra.results.II_Result;
import reactor.test.scheduler.VirtualTimeScheduler;

/**
 * A waiter's subscriber cancels while its deadline fires: both leave the waiting state of the acquisition
 * core, and its one CAS must let exactly one of them take the waiter out of the queue. r1: 2 = the timeout
 * was signalled, 0 = nothing was (the cancel won, or the timeout after it stayed silent), 1 = a grant
 * (impossible: the holder never releases in the race); r2: 1 when no waiter is left queued and the lock is
 * free once the holder released.
 */
@JCStressTest
@Outcome(id = "2, 1", expect = Expect.ACCEPTABLE, desc = "timeout won: signalled, waiter left the queue")
@Outcome(id = "0, 1", expect = Expect.ACCEPTABLE, desc = "cancel won: nothing signalled, waiter left the queue")
@Outcome(id = ".*, 0", expect = Expect.FORBIDDEN, desc = "waiter left queued, or lock held by nobody")
@Outcome(id = "1, .*", expect = Expect.FORBIDDEN, desc = "granted while the holder held the lock")
@State
public class CancelVersusTimeoutStressTest {

    final VirtualTimeScheduler time = VirtualTimeScheduler.create();
    final LockService locks = LockService.builder().timer(time).build();
    final LockHandle holder = locks.acquire("x").block();
    final Probe waiter = locks.acquire("x", LockOptions.exclusive().timeout(Duration.ofMillis(1)))
            .subscribeWith(new Probe());

    @Actor
    public void cancel() {
        waiter.cancel();
    }

    @Actor
    public void timeout() {
        time.advanceTimeBy(Duration.ofMillis(1));
    }

    @Arbiter
    public void arbiter(II_Result r) {
        Object o = waiter.outcome.get();
        r.r1 = o instanceof LockHandle ? 1 : o instanceof LockTimeoutException ? 2 : 0;
        waiter.releaseIfGranted();
        LockInfo info = locks.inspect("x").block();
        boolean noneQueued = info != null && info.waiting().orElse(-1) == 0;
        holder.release().block();
        r.r2 = noneQueued ? Probe.free(locks, "x") : 0;
    }
}
