package dev.reactivelocks.distributed;

import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.openjdk.jcstress.annotations.Actor;
import org.openjdk.jcstress.annotations.Arbiter;
import org.openjdk.jcstress.annotations.Expect;
import org.openjdk.jcstress.annotations.JCStressTest;
import org.openjdk.jcstress.annotations.Outcome;
import org.openjdk.jcstress.annotations.State;
import org.openjdk.jcstress.infra.results.II_Result;
import reactor.test.scheduler.VirtualTimeScheduler;

/**
 * The window of a distributed service's timer queue ({@link TimerQueue}, in the core's package to reach it): the
 * run due for the only queued task races the scheduling of a task due after it, which schedules no run of its
 * own when it sees that one armed. Whichever comes first, the later task must be left with a run: once virtual
 * time is past both deadlines it ran, once, and nothing is queued. r1: runs of the later task; r2: tasks queued.
 */
@JCStressTest
@Outcome(id = "1, 0", expect = Expect.ACCEPTABLE, desc = "the later task ran once")
@Outcome(id = "0, 1", expect = Expect.FORBIDDEN, desc = "the later task stranded: queued with no run due")
@Outcome(expect = Expect.FORBIDDEN, desc = "ran twice, or ran and still queued")
@State
public class TimerQueueRunVersusScheduleStressTest {

    final VirtualTimeScheduler time = VirtualTimeScheduler.create();
    final TimerQueue queue = new TimerQueue(time);
    final AtomicInteger later = new AtomicInteger();

    {
        queue.schedule(() -> { }, 10, TimeUnit.MILLISECONDS);
    }

    @Actor
    public void run() {
        time.advanceTimeBy(Duration.ofMillis(10)); // the first task is due: its run runs here
    }

    @Actor
    public void schedule() {
        queue.schedule(later::incrementAndGet, 20, TimeUnit.MILLISECONDS);
    }

    @Arbiter
    public void arbiter(II_Result r) {
        time.advanceTimeBy(Duration.ofMillis(40));
        r.r1 = later.get();
        r.r2 = queue.size();
        time.dispose();
    }
}
