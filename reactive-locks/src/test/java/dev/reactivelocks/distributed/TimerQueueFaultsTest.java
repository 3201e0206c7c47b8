package dev.reactivelocks.distributed;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.reactivelocks.LockHandle;
import dev.reactivelocks.internal.BoundedCall;
import dev.reactivelocks.internal.TimerQueue;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import reactor.core.Disposable;
import reactor.core.publisher.Mono;
import reactor.core.scheduler.Scheduler;
import reactor.core.scheduler.Schedulers;
import reactor.test.StepVerifier;
import reactor.test.scheduler.VirtualTimeScheduler;
import reactor.test.subscriber.TestSubscriber;

/**
 * {@link TimerQueue} under faults: a timer that rejects, a disposed timer, tasks that throw JVM-fatal errors,
 * timers that run tasks inside {@code schedule} (virtual time), and a replaced run disposed while it runs; both
 * on the queue itself and through a service's renewals, lease watches and poll sleeps.
 */
class TimerQueueFaultsTest {

    /**
     * A timer rejects the run needed for an earlier task (a bounded scheduler's queue full, say) once. {@code arm}
     * disposed the run armed for the later tasks before it asked the timer, and on the rejection it sets
     * {@code armed = null, armedAt = NONE}: the tasks that relied on the disposed run (a renewal, a lease watch)
     * are left queued with no run at all, though the timer accepts tasks again. Only some later, unrelated
     * {@code schedule} would rescue them.
     */
    @Test
    void aRejectedRunForAnEarlierTaskDoesNotStrandTheTasksOfTheRunItReplaced() {
        VirtualTimeScheduler time = VirtualTimeScheduler.create();
        try {
            RejectOnDemandTimer timer = new RejectOnDemandTimer(time);
            TimerQueue queue = new TimerQueue(timer);
            AtomicInteger renewals = new AtomicInteger();
            queue.schedule(renewals::incrementAndGet, 100, TimeUnit.MILLISECONDS); // arms a run at 100 ms

            timer.reject.set(true);
            assertThatThrownBy(() -> queue.schedule(() -> { }, 10, TimeUnit.MILLISECONDS))
                    .as("a run for 10 ms is rejected: documented").isInstanceOf(RejectedExecutionException.class);
            timer.reject.set(false); // the timer accepts tasks again

            time.advanceTimeBy(Duration.ofSeconds(1));
            assertThat(renewals).as("runs of the task due at 100 ms, queued before the rejection (tasks still "
                    + "queued: " + queue.size() + ")").hasValue(1);
        } finally {
            time.dispose();
        }
    }

    /**
     * The service-level consequence of the test above. A handle's renewal (due in 500 ms) and lease watch (2 s)
     * rely on the run armed for the renewal. One timer call that needs an earlier run (here scheduled directly; a
     * poll sleep of 250 ms does the same) is rejected once by the timer. The renewal and the lease watch are then
     * stranded: no renewal reaches the store, the lease runs out there, another service takes the lock, and the
     * handle still says it is held, {@code lost()} never completing: two holders.
     */
    @Test
    void aTimerRejectingOnceNeitherStopsRenewalsNorHidesTheLossOfTheLease() {
        assertThat(twoHoldersAfterARejection(true)).as("held by both services").isEmpty();
    }

    /** Control: the same scenario without the rejection renews the lease and keeps the other service out. */
    @Test
    void controlWithoutTheRejectionTheLeaseIsRenewedAndTheOtherServiceKeptOut() {
        assertThat(twoHoldersAfterARejection(false)).isEmpty();
    }

    /** @return a description when both services hold "held" 3 s after the (optional) rejection, else empty */
    private static String twoHoldersAfterARejection(boolean reject) {
        VirtualTimeScheduler vts = VirtualTimeScheduler.create();
        try {
            InMemoryLockBackend store = InMemoryLockBackend.create(vts);
            FaultyBackend backend = new FaultyBackend(store);
            RejectOnDemandTimer timer = new RejectOnDemandTimer(vts);
            DistributedLockService a = DistributedLockService.builder(backend).lease(Duration.ofSeconds(2))
                    .renewEvery(Duration.ofMillis(500)).pollInterval(Duration.ofMillis(250)).timer(timer).build();
            DistributedLockService b = DistributedLockService.builder(store).lease(Duration.ofSeconds(2))
                    .renewEvery(Duration.ofMillis(500)).pollInterval(Duration.ofMillis(250)).timer(vts).build();
            LockHandle h = DistributedLockServiceTest.granted(DistributedLockServiceTest.subscribe(a.acquire("held")));

            if (reject) {
                timer.reject.set(true);
                assertThatThrownBy(() -> a.timers().schedule(() -> { }, 100, TimeUnit.MILLISECONDS))
                        .isInstanceOf(RejectedExecutionException.class);
                timer.reject.set(false);
            }

            vts.advanceTimeBy(Duration.ofSeconds(3));
            TestSubscriber<LockHandle> other = DistributedLockServiceTest.subscribe(b.tryAcquire("held"));
            boolean otherHolds = other.getReceivedOnNext().size() == 1;
            String result = h.isHeld() && otherHolds ? "held by both (renewals sent: " + backend.renewCalls.get()
                    + ", lost() completed: " + isLost(h) + ")" : "";
            a.dispose();
            b.dispose();
            return result;
        } finally {
            vts.dispose();
        }
    }

    /**
     * The same through the service's own path: a waiter for another lock, busy in the other service, needs a run
     * for its poll sleep (250 ms) before the renewal's (500 ms); the timer rejects that one run. The waiter's
     * {@code subscribe} throws the rejection, and the handle's renewal and lease watch are
     * stranded: with no other timer activity in the service, no renewal is ever sent, the lease runs out in the
     * store, the other service takes the lock, and the handle still says it is held.
     */
    @Test
    void aPollSleepRejectedOnceDoesNotStrandTheRenewalOfAnotherLock() {
        VirtualTimeScheduler vts = VirtualTimeScheduler.create();
        try {
            InMemoryLockBackend store = InMemoryLockBackend.create(vts);
            FaultyBackend backend = new FaultyBackend(store);
            RejectOnDemandTimer timer = new RejectOnDemandTimer(vts);
            DistributedLockService a = DistributedLockService.builder(backend).lease(Duration.ofSeconds(2))
                    .renewEvery(Duration.ofMillis(500)).pollInterval(Duration.ofMillis(250)).timer(timer).build();
            DistributedLockService b = DistributedLockService.builder(store).lease(Duration.ofSeconds(2))
                    .renewEvery(Duration.ofMillis(500)).pollInterval(Duration.ofMillis(250)).timer(vts).build();
            LockHandle h = DistributedLockServiceTest.granted(DistributedLockServiceTest.subscribe(a.acquire("held")));
            DistributedLockServiceTest.granted(DistributedLockServiceTest.subscribe(b.acquire("busy")));

            timer.reject.set(true);
            assertThatThrownBy(() -> a.acquire("busy").subscribe(TestSubscriber.create()))
                    .isInstanceOf(RejectedExecutionException.class);
            timer.reject.set(false);

            vts.advanceTimeBy(Duration.ofMillis(600));
            int renewalsBy600 = backend.renewCalls.get();
            vts.advanceTimeBy(Duration.ofSeconds(3));
            TestSubscriber<LockHandle> other = DistributedLockServiceTest.subscribe(b.tryAcquire("held"));
            assertThat(renewalsBy600).as("renewals sent by 600 ms (due at 500 ms); by 3.6 s: "
                    + backend.renewCalls.get() + "; at 3.6 s held: " + h.isHeld() + ", lost() completed: "
                    + isLost(h) + ", granted to the other service: " + (other.getReceivedOnNext().size() == 1))
                    .isPositive();
            a.dispose();
            b.dispose();
        } finally {
            vts.dispose();
        }
    }

    /**
     * BoundedCall's javadoc: "A timer that rejects the task (disposed) fails the call with that rejection". A call whose bound is due after the run
     * already armed never touches the timer: on a disposed timer it is accepted silently, and since the armed run
     * died with the timer ({@code armedAt} still names it), no bound ever fires: a backend call that never answers
     * hangs for ever instead of failing.
     */
    @Test
    void aCallBoundedOnADisposedTimerFailsWithTheRejectionEvenWhenARunWasArmedBefore() {
        Scheduler single = Schedulers.newSingle("timer-faults-disposed-timer");
        TimerQueue queue = new TimerQueue(single);
        queue.schedule(() -> { }, 1, TimeUnit.MINUTES); // a lease watch, say: arms a run on the timer
        single.dispose();

        StepVerifier.create(BoundedCall.within(Mono.<String>never(), Duration.ofMinutes(2), queue))
                .expectError(RejectedExecutionException.class)
                .verify(Duration.ofSeconds(2));
    }

    /** The same with virtual time: the bound of a call is accepted by a disposed timer and never fires. */
    @Test
    void schedulingOnADisposedVirtualTimerFailsEvenWhenARunWasArmedBefore() {
        VirtualTimeScheduler time = VirtualTimeScheduler.create();
        TimerQueue queue = new TimerQueue(time);
        queue.schedule(() -> { }, 1, TimeUnit.SECONDS);
        time.dispose();
        AtomicInteger ran = new AtomicInteger();
        assertThatThrownBy(() -> queue.schedule(ran::incrementAndGet, 2, TimeUnit.SECONDS))
                .as("a task accepted by a disposed timer never runs").isInstanceOf(RejectedExecutionException.class);
    }

    /**
     * A task that throws a JVM-fatal error (Reactor's {@code Exceptions.throwIfJvmFatal}: any
     * {@link VirtualMachineError} such as {@link StackOverflowError} from a deep subscriber chain on the timer
     * thread, or any {@link LinkageError} such as {@link NoClassDefFoundError} / {@link ExceptionInInitializerError}
     * on a callback's first use of a class) escapes {@code fire} at once: {@code fire} had cleared
     * {@code armedAt} and never reaches {@code arm(next.due)}, so every other task of the service (renewals,
     * lease watches, bounds, poll sleeps of other locks) is left queued with no run.
     */
    @Test
    void aTaskThrowingAJvmFatalErrorDoesNotStrandTheOtherTasks() throws Exception {
        Scheduler single = Schedulers.newSingle("timer-faults-fatal-timer");
        try {
            TimerQueue queue = new TimerQueue(single);
            CountDownLatch other = new CountDownLatch(1);
            queue.schedule(() -> {
                throw new NoClassDefFoundError("io/example/BackendErrorMapper");
            }, 200, TimeUnit.MILLISECONDS);
            queue.schedule(other::countDown, 400, TimeUnit.MILLISECONDS); // relies on the run armed for 200 ms
            assertThat(other.await(3, TimeUnit.SECONDS))
                    .as("the task due at 400 ms ran (tasks still queued: " + queue.size() + ")").isTrue();
        } finally {
            single.dispose();
        }
    }

    /**
     * The monitor of {@code arm} is held while {@code timer.schedule} runs; a virtual-time timer runs a run due at
     * once inside that call, so every task of that run runs holding the queue's monitor. A task that waits for
     * another thread that schedules a task of its own (on the same service) deadlocks it: that thread finds no run
     * armed ({@code fire} cleared it) and blocks on the monitor.
     */
    @Test
    void aTaskRunInsideScheduleOnVirtualTimeDoesNotHoldOtherThreadsOffTheQueue() throws Exception {
        VirtualTimeScheduler time = VirtualTimeScheduler.create();
        try {
            TimerQueue queue = new TimerQueue(time);
            CountDownLatch otherScheduled = new CountDownLatch(1);
            AtomicBoolean sawOther = new AtomicBoolean();
            Thread other = new Thread(() -> {
                queue.schedule(() -> { }, 5, TimeUnit.MILLISECONDS);
                otherScheduled.countDown();
            }, "timer-faults-other-scheduler");
            other.setDaemon(true);
            queue.schedule(() -> { // due at once: the virtual timer runs it inside schedule
                other.start();
                try {
                    sawOther.set(otherScheduled.await(2, TimeUnit.SECONDS));
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }, 0, TimeUnit.MILLISECONDS);
            assertThat(sawOther).as("the other thread's schedule returned while the task waited for it").isTrue();
            other.join(5_000);
        } finally {
            time.dispose();
        }
    }

    /**
     * Two services, each with a virtual-time timer of its own (two test clocks), each running a due task inside
     * {@code schedule} (holding its queue's monitor), whose task schedules on the other service's queue: a
     * lock-order inversion, a deadlock with no task that waits for anything.
     */
    @Test
    void twoQueuesOnSynchronousTimersSchedulingOnEachOtherDoNotDeadlock() throws Exception {
        VirtualTimeScheduler time1 = VirtualTimeScheduler.create();
        VirtualTimeScheduler time2 = VirtualTimeScheduler.create();
        try {
            TimerQueue q1 = new TimerQueue(time1);
            TimerQueue q2 = new TimerQueue(time2);
            CountDownLatch bothInside = new CountDownLatch(2);
            Thread t1 = new Thread(() -> q1.schedule(() -> {
                bothInside.countDown();
                awaitQuietly(bothInside);
                q2.schedule(() -> { }, 0, TimeUnit.MILLISECONDS);
            }, 0, TimeUnit.MILLISECONDS), "timer-faults-q1");
            Thread t2 = new Thread(() -> q2.schedule(() -> {
                bothInside.countDown();
                awaitQuietly(bothInside);
                q1.schedule(() -> { }, 0, TimeUnit.MILLISECONDS);
            }, 0, TimeUnit.MILLISECONDS), "timer-faults-q2");
            t1.setDaemon(true);
            t2.setDaemon(true);
            t1.start();
            t2.start();
            t1.join(3_000);
            t2.join(3_000);
            assertThat(t1.isAlive() || t2.isAlive()).as("deadlocked: " + t1.getState() + ", " + t2.getState())
                    .isFalse();
        } finally {
            time1.dispose();
            time2.dispose();
        }
    }

    /**
     * {@code arm} disposes the run it replaces. Reactor's {@code SchedulerTask.dispose} cancels with
     * {@code mayInterruptIfRunning} when called from another thread, and a run can already be running when it is
     * replaced (its deadline passed while the replacing thread, inside {@code arm}, had not yet disposed it; here
     * the disposal is slowed down to stand for that thread being descheduled there). The run then carries on,
     * {@code fire} runs every due task of the service on an interrupted timer thread (lease watches, bounds,
     * renewals that subscribe to the backend).
     */
    @Test
    void noTaskRunsOnATimerThreadInterruptedByTheDisposalOfTheRunningRun() throws Exception {
        Scheduler single = Schedulers.newSingle("timer-faults-interrupt-timer");
        try {
            SlowDisposeTimer timer = new SlowDisposeTimer(single);
            TimerQueue queue = new TimerQueue(timer);
            List<String> interrupted = new java.util.concurrent.CopyOnWriteArrayList<>();
            CountDownLatch ran = new CountDownLatch(2);
            queue.schedule(() -> {
                if (Thread.currentThread().isInterrupted()) {
                    interrupted.add("lease watch");
                }
                ran.countDown();
            }, 200, TimeUnit.MILLISECONDS); // run R1, due at 200 ms
            Thread.sleep(150);
            timer.slowDispose.set(true); // the replacing thread is descheduled for 100 ms before it disposes R1
            queue.schedule(() -> {
                if (Thread.currentThread().isInterrupted()) {
                    interrupted.add("bound");
                }
                ran.countDown();
            }, 1, TimeUnit.MILLISECONDS); // due before R1: replaces it
            assertThat(ran.await(5, TimeUnit.SECONDS)).isTrue();
            assertThat(interrupted).as("tasks run on an interrupted timer thread").isEmpty();
        } finally {
            single.dispose();
        }
    }

    private static boolean isLost(LockHandle h) {
        TestSubscriber<Void> ts = TestSubscriber.create();
        h.lost().subscribe(ts);
        return ts.isTerminatedComplete();
    }

    private static void awaitQuietly(CountDownLatch latch) {
        try {
            latch.await(2, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** Forwards everything, {@code now} included, as Reactor's {@code TimedScheduler} (Micrometer) does. */
    static class ForwardingTimer implements Scheduler {
        final Scheduler delegate;

        ForwardingTimer(Scheduler delegate) {
            this.delegate = delegate;
        }

        @Override
        public Disposable schedule(Runnable task) {
            return delegate.schedule(task);
        }

        @Override
        public Disposable schedule(Runnable task, long delay, TimeUnit unit) {
            return delegate.schedule(task, delay, unit);
        }

        @Override
        public long now(TimeUnit unit) {
            return delegate.now(unit);
        }

        @Override
        public Worker createWorker() {
            return delegate.createWorker();
        }

        @Override
        public boolean isDisposed() {
            return delegate.isDisposed();
        }

        @Override
        public void dispose() {
            delegate.dispose();
        }
    }

    /** Rejects while {@link #reject} is set, as a bounded scheduler with a full queue does. */
    static final class RejectOnDemandTimer extends ForwardingTimer {
        final AtomicBoolean reject = new AtomicBoolean();

        RejectOnDemandTimer(Scheduler delegate) {
            super(delegate);
        }

        @Override
        public Disposable schedule(Runnable task, long delay, TimeUnit unit) {
            if (reject.get()) {
                throw new RejectedExecutionException("queue full");
            }
            return delegate.schedule(task, delay, unit);
        }
    }

    /**
     * Its tasks' disposal takes 100 ms once {@link #slowDispose} is set: the disposing thread descheduled just
     * before it. {@code now} is the delegate's {@code System.nanoTime} clock, so the clock rule changes nothing.
     */
    static final class SlowDisposeTimer extends ForwardingTimer {
        final AtomicBoolean slowDispose = new AtomicBoolean();

        SlowDisposeTimer(Scheduler delegate) {
            super(delegate);
        }

        @Override
        public long now(TimeUnit unit) {
            return unit.convert(System.nanoTime(), TimeUnit.NANOSECONDS);
        }

        @Override
        public Disposable schedule(Runnable task, long delay, TimeUnit unit) {
            Disposable d = delegate.schedule(task, delay, unit);
            return () -> {
                if (slowDispose.get()) {
                    try {
                        Thread.sleep(100);
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                    }
                }
                d.dispose();
            };
        }
    }
}
