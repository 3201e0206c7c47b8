package dev.reactivelocks.distributed;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.reactivelocks.testkit.contract.SpinRacer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicIntegerArray;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import reactor.core.Disposable;
import reactor.core.scheduler.Scheduler;
import reactor.core.scheduler.Schedulers;
import reactor.test.scheduler.VirtualTimeScheduler;

class TimerQueueTest {

    private final VirtualTimeScheduler time = VirtualTimeScheduler.create();
    private final CountingTimer timer = new CountingTimer(time);
    private final TimerQueue queue = new TimerQueue(timer);
    private final List<String> ran = new CopyOnWriteArrayList<>();

    @AfterEach
    void disposeTime() {
        time.dispose();
    }

    @Test
    void tasksRunAtTheirDeadlinesInOrderWithOneRunOnTheTimerAtATime() {
        schedule("300", 300);
        assertThat(timer.live()).as("runs after the first task").isOne();
        schedule("100a", 100);
        assertThat(timer.live()).as("runs after an earlier task: the later run is disposed").isOne();
        schedule("200", 200);
        schedule("100b", 100);
        assertThat(timer.scheduled()).as("runs scheduled for four tasks, two of them due after the run").isEqualTo(2);

        time.advanceTimeBy(Duration.ofMillis(99));
        assertThat(ran).isEmpty();
        time.advanceTimeBy(Duration.ofMillis(1));
        assertThat(ran).containsExactly("100a", "100b");
        time.advanceTimeBy(Duration.ofMillis(99));
        assertThat(ran).containsExactly("100a", "100b");
        time.advanceTimeBy(Duration.ofMillis(1));
        assertThat(ran).containsExactly("100a", "100b", "200");
        time.advanceTimeBy(Duration.ofMillis(100));
        assertThat(ran).containsExactly("100a", "100b", "200", "300");

        assertThat(queue.size()).isZero();
        assertThat(timer.live()).as("runs left").isZero();
        assertThat(timer.scheduled()).as("one run per deadline, and none once the queue is empty").isEqualTo(4);
    }

    @Test
    void tasksDueAfterTheRunDoNotTouchTheTimerAndDisposedOnesNeverRun() {
        List<Disposable> tasks = new ArrayList<>();
        for (int i = 0; i < 1_000; i++) {
            time.advanceTimeBy(Duration.ofMillis(1));
            tasks.add(schedule("task " + i, 5_000));
        }
        assertThat(queue.size()).isEqualTo(1_000);
        tasks.forEach(Disposable::dispose);
        assertThat(queue.size()).isZero();
        assertThat(tasks).allMatch(Disposable::isDisposed);

        time.advanceTimeBy(Duration.ofSeconds(10));
        assertThat(ran).isEmpty();
        assertThat(timer.scheduled()).as("runs scheduled for 1,000 tasks due in order").isOne();
        assertThat(timer.live()).isZero();
    }

    @Test
    void aTaskScheduledByARunningTaskRunsInALaterRun() {
        AtomicInteger chained = new AtomicInteger();
        Runnable[] step = new Runnable[1];
        step[0] = () -> {
            if (chained.incrementAndGet() < 10) {
                queue.schedule(step[0], 0, TimeUnit.MILLISECONDS);
            }
        };
        queue.schedule(step[0], 100, TimeUnit.MILLISECONDS);
        time.advanceTimeBy(Duration.ofMillis(99));
        assertThat(chained).hasValue(0);
        time.advanceTimeBy(Duration.ofMillis(1));
        assertThat(chained).as("a chain of tasks due at once").hasValue(10);
        assertThat(queue.size()).isZero();
        assertThat(timer.live()).isZero();
    }

    @Test
    void aTaskThatThrowsDoesNotKeepTheOthersFromRunningAndItsErrorGoesToTheTimer() throws Exception {
        List<Throwable> handled = new CopyOnWriteArrayList<>();
        Schedulers.onHandleError(TimerQueueTest.class.getName(), (thread, error) -> handled.add(error));
        Scheduler real = Schedulers.newSingle("timer-queue-test");
        try {
            TimerQueue q = new TimerQueue(real);
            CountDownLatch last = new CountDownLatch(1);
            q.schedule(() -> ran.add("first"), 20, TimeUnit.MILLISECONDS);
            q.schedule(() -> {
                throw new IllegalStateException("boom");
            }, 20, TimeUnit.MILLISECONDS);
            q.schedule(() -> {
                ran.add("after the error");
                last.countDown();
            }, 20, TimeUnit.MILLISECONDS);
            assertThat(last.await(10, TimeUnit.SECONDS)).isTrue();
            assertThat(ran).containsExactly("first", "after the error");
            awaitUntil(() -> !handled.isEmpty());
            assertThat(handled).singleElement().satisfies(e -> assertThat(e).hasMessage("boom"));
            assertThat(q.size()).isZero();
        } finally {
            real.dispose();
            Schedulers.resetOnHandleError(TimerQueueTest.class.getName());
        }
    }

    @Test
    void aTimerThatRejectsFailsTheSchedulingAndQueuesNothing() {
        VirtualTimeScheduler disposed = VirtualTimeScheduler.create();
        disposed.dispose();
        TimerQueue q = new TimerQueue(disposed);
        for (int i = 0; i < 2; i++) {
            assertThatThrownBy(() -> q.schedule(() -> ran.add("never"), 1, TimeUnit.SECONDS))
                    .as("attempt " + i).isInstanceOf(RejectedExecutionException.class);
            assertThat(q.size()).isZero();
        }
    }

    @Test
    void deadlinesUseTheTimersClockOnlyWhenItsClassDefinesOne() {
        assertThat(new TimerQueue(time).timerClock()).as("VirtualTimeScheduler").isTrue();
        assertThat(queue.timerClock()).as("a scheduler overriding now()").isTrue();
        assertThat(new TimerQueue(Schedulers.parallel()).timerClock()).as("parallel()").isFalse();
        assertThat(new TimerQueue(Schedulers.single()).timerClock()).as("single()").isFalse();
        assertThat(new TimerQueue(Schedulers.boundedElastic()).timerClock()).as("boundedElastic()").isFalse();
    }

    /**
     * Spin-timed: two threads schedule, dispose and race the runs of a real timer with tasks due within a
     * millisecond. Every task never disposed runs exactly once, none runs twice, and once all are due no task
     * and no run is left.
     */
    @Test
    void racingSchedulesDisposalsAndRunsLoseNoTask() throws Exception {
        Scheduler real = Schedulers.newParallel("timer-queue-race", 2);
        try {
            CountingTimer counted = new CountingTimer(real);
            TimerQueue q = new TimerQueue(counted);
            int rounds = 5_000;
            AtomicIntegerArray runs = new AtomicIntegerArray(rounds * 2);
            boolean[] disposed = new boolean[rounds * 2];
            try (SpinRacer racer = new SpinRacer()) {
                for (int i = 0; i < rounds; i++) {
                    int mine = 2 * i;
                    int theirs = 2 * i + 1;
                    boolean disposeMine = ThreadLocalRandom.current().nextInt(4) == 0;
                    disposed[mine] = disposeMine;
                    racer.race(() -> {
                        Disposable d = q.schedule(() -> runs.incrementAndGet(mine),
                                ThreadLocalRandom.current().nextInt(1_000), TimeUnit.MICROSECONDS);
                        if (disposeMine) {
                            d.dispose();
                        }
                    }, () -> q.schedule(() -> runs.incrementAndGet(theirs),
                            ThreadLocalRandom.current().nextInt(1_000), TimeUnit.MICROSECONDS));
                }
            }
            awaitUntil(() -> {
                for (int i = 0; i < runs.length(); i++) {
                    if (!disposed[i] && runs.get(i) == 0) {
                        return false;
                    }
                }
                return true;
            });
            for (int i = 0; i < runs.length(); i++) {
                assertThat(runs.get(i)).as("runs of task " + i + (disposed[i] ? " (disposed)" : ""))
                        .isBetween(disposed[i] ? 0 : 1, 1);
            }
            awaitUntil(() -> counted.live() == 0);
            assertThat(q.size()).isZero();
        } finally {
            real.dispose();
        }
    }

    /**
     * Spin-timed: the run of the only queued task races the scheduling of a task due after it, which relies on
     * that run or on one it arms. Each time, the later task is left with a run due by its deadline, and runs.
     */
    @Test
    void aRunRacingTheSchedulingOfALaterTaskNeverStrandsIt() {
        AtomicInteger later = new AtomicInteger();
        try (SpinRacer racer = new SpinRacer()) {
            for (int i = 0; i < 5_000; i++) {
                int round = i;
                later.set(0);
                schedule("due first", 10);
                racer.race(() -> time.advanceTimeBy(Duration.ofMillis(10)),
                        () -> queue.schedule(later::incrementAndGet, 20, TimeUnit.MILLISECONDS));
                assertThat(queue.size()).as("tasks queued after race " + round).isOne();
                assertThat(timer.live()).as("runs on the timer after race " + round).isOne();
                time.advanceTimeBy(Duration.ofMillis(30));
                assertThat(later).as("runs of the later task, race " + round).hasValue(1);
                assertThat(timer.live()).as("runs left after race " + round).isZero();
            }
        }
        assertThat(ran).hasSize(5_000);
    }

    private Disposable schedule(String label, long delayMillis) {
        return queue.schedule(() -> ran.add(label), delayMillis, TimeUnit.MILLISECONDS);
    }

    private static void awaitUntil(java.util.function.BooleanSupplier condition) throws InterruptedException {
        long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (!condition.getAsBoolean()) {
            assertThat(System.nanoTime() - end).as("waited 10 s").isNegative();
            Thread.sleep(5);
        }
    }
}
