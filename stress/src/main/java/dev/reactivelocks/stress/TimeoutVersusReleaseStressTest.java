package dev.reactivelocks.stress;

import dev.reactivelocks.LockHandle;
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
 * The waiter's timeout fires while the holder releases. r1: 1 = the waiter was granted, 2 = it timed out,
 * 0 = neither; r2: the lock is free afterwards.
 */
@JCStressTest
@Outcome(id = "1, 1", expect = Expect.ACCEPTABLE, desc = "release won: granted, then released by the arbiter")
@Outcome(id = "2, 1", expect = Expect.ACCEPTABLE, desc = "timeout won: waiter errored, lock free")
@Outcome(id = ".*, 0", expect = Expect.FORBIDDEN, desc = "lock held by nobody yet unavailable")
@Outcome(id = "0, .*", expect = Expect.FORBIDDEN, desc = "waiter neither granted nor timed out")
@State
public class TimeoutVersusReleaseStressTest {

    final VirtualTimeScheduler time = VirtualTimeScheduler.create();
    final LockService locks = LockService.builder().timer(time).build();
    final LockHandle holder = locks.acquire("x").block();
    final Probe waiter = locks.acquire("x", LockOptions.exclusive().timeout(Duration.ofMillis(1)))
            .subscribeWith(new Probe());

    @Actor
    public void release() {
        holder.release().subscribe();
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
        r.r2 = Probe.free(locks, "x");
    }
}
