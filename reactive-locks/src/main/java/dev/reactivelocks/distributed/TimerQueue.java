package dev.reactivelocks.distributed;

import java.util.NoSuchElementException;
import java.util.concurrent.ConcurrentSkipListSet;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Supplier;
import org.jspecify.annotations.Nullable;
import reactor.core.Disposable;
import reactor.core.Disposables;
import reactor.core.Exceptions;
import reactor.core.scheduler.Scheduler;

/**
 * A service's one-shot timer tasks (the bound of each backend call, renewals, lease watches, poll sleeps),
 * ordered by deadline, with one task at a time scheduled on the timer {@link Scheduler}: the <em>run</em>,
 * due at the earliest deadline, which runs every task that is due and schedules the next run.
 *
 * <p>Why: a task scheduled on a Reactor timer whose queue is empty wakes the timer's thread, and a task
 * disposed before it is due leaves the queue empty again. A backend call bounded by a task of its own, answered
 * within a millisecond, thus woke a thread twice per call for a timeout that almost never fires. Here a
 * task due after the run costs an insertion into a concurrent skip list and a removal when disposed; the timer
 * is touched only when a task is due before every other ({@link #schedule} then schedules an earlier run and
 * disposes the later one), and when a run finds tasks left.
 *
 * <pre>
 *   schedule(task, due d) ──► queued ──── dispose ──────────────────────────► removed, never runs
 *      │ if no run is due by d:            └── the run due at or before d ──► removed, runs on the timer
 *      └── schedule a run at d on the timer (the later run, if any, is disposed)
 * </pre>
 *
 * Tasks run on the timer's thread, one after another, in the order of their deadlines (ties in the order
 * they were scheduled); a task that throws does not keep the others from running, and the first error is
 * thrown on to the timer once the run is over. A task disposed while due may still run, as with a
 * scheduler's own tasks. Deadlines are measured with the timer's clock when its class defines
 * {@link Scheduler#now(TimeUnit)} (a virtual-time scheduler, for one; a wrapper that supplies the scheduler
 * it stands for, as {@code Schedulers.parallel()} does, counts as that scheduler), else with
 * {@link System#nanoTime()},
 * as the timers of Reactor's own schedulers measure their delays: a step of the wall clock neither fires a
 * task early nor holds it back.
 *
 * <p>Invariant, in the lock of this queue: {@code armedAt} is the deadline of {@code armed}, the one run
 * scheduled that no later run replaced, or {@link #NONE}. A thread that queued a task and then reads an
 * {@code armedAt} at or before the task's deadline may leave it: that run has not yet begun (a run clears its
 * {@code armedAt} first, in the lock), so it will find the task, or a later run armed at an earlier deadline
 * replaced it and will.
 */
final class TimerQueue {

    private static final long NONE = Long.MIN_VALUE;
    /** Delays are capped to about 73 years, so that a deadline never wraps past the clock. */
    private static final long MAX_DELAY = Long.MAX_VALUE >> 2;
    private static final ClassValue<Boolean> DEFINES_CLOCK = new ClassValue<>() {
        @Override
        protected Boolean computeValue(Class<?> type) {
            try {
                return type.getMethod("now", TimeUnit.class).getDeclaringClass() != Scheduler.class;
            } catch (NoSuchMethodException e) {
                throw new AssertionError("Scheduler.now(TimeUnit)", e);
            }
        }
    };

    private final Scheduler timer;
    private final boolean timerClock;
    private final ConcurrentSkipListSet<Task> tasks = new ConcurrentSkipListSet<>();
    private final AtomicLong sequence = new AtomicLong();
    private volatile long armedAt = NONE;
    private @Nullable Run armed;

    TimerQueue(Scheduler timer) {
        this.timer = timer;
        this.timerClock = definesClock(timer);
    }

    /**
     * Whether {@code timer}'s class defines {@link Scheduler#now(TimeUnit)}, looking through the wrappers that
     * supply the scheduler they stand for ({@code Schedulers.parallel()} is a cache of one, for one).
     */
    private static boolean definesClock(Scheduler timer) {
        Scheduler t = timer;
        for (int i = 0; i < 8 && t instanceof Supplier<?> wrapper && wrapper.get() instanceof Scheduler inner
                && inner != t; i++) {
            t = inner;
        }
        return DEFINES_CLOCK.get(t.getClass());
    }

    /** @return whether deadlines are measured with the timer's {@link Scheduler#now(TimeUnit)} */
    boolean timerClock() {
        return timerClock;
    }

    /** @return the scheduler the runs are scheduled on */
    Scheduler timer() {
        return timer;
    }

    /**
     * Runs {@code task} on the timer after {@code delay}, unless the returned {@link Disposable} is disposed
     * first.
     *
     * @throws RejectedExecutionException if a run was needed and the timer rejected it (the task is then not
     *                                    queued)
     */
    Disposable schedule(Runnable task, long delay, TimeUnit unit) {
        long due = now() + Math.min(Math.max(unit.toNanos(delay), 0), MAX_DELAY);
        Task t = new Task(task, due == NONE ? NONE + 1 : due, sequence.getAndIncrement());
        tasks.add(t);
        try {
            arm(t.due);
        } catch (RuntimeException e) {
            t.dispose();
            throw e;
        }
        return t;
    }

    /** @return the number of tasks queued and not yet run or disposed (O(n): for tests and diagnostics) */
    int size() {
        return tasks.size();
    }

    private long now() {
        return timerClock ? timer.now(TimeUnit.NANOSECONDS) : System.nanoTime();
    }

    /** Makes sure a run is due at or before {@code due}. */
    private void arm(long due) {
        long at = armedAt;
        if (at != NONE && at - due <= 0) {
            return;
        }
        synchronized (this) {
            at = armedAt;
            if (at != NONE && at - due <= 0) {
                return;
            }
            Run previous = armed;
            Run run = new Run(due);
            armed = run;
            armedAt = due;
            if (previous != null) {
                previous.dispose();
            }
            try {
                // a timer running due tasks at once (virtual time) may run this run inside the call
                run.scheduled(timer.schedule(run, Math.max(0, due - now()), TimeUnit.NANOSECONDS));
            } catch (RuntimeException e) {
                if (armed == run) {
                    armed = null;
                    armedAt = NONE;
                }
                throw e;
            }
        }
    }

    /**
     * The run armed for {@code run.due}: every task due (scheduled before it began), then a run for the
     * earliest task left.
     */
    private void fire(Run run) {
        synchronized (this) {
            if (armed == run) {
                armed = null;
                armedAt = NONE;
            }
        }
        long now = now();
        long before = sequence.get(); // a task that a task schedules runs in a later run: no endless run
        Throwable failure = null;
        for (Task t = first(); t != null && t.due - now <= 0 && t.seq < before; t = first()) {
            if (t.claim()) {
                try {
                    t.task.run();
                } catch (Throwable e) {
                    Exceptions.throwIfJvmFatal(e);
                    if (failure == null) {
                        failure = e;
                    } else {
                        failure.addSuppressed(e);
                    }
                }
            }
        }
        Task next = first();
        if (next != null) {
            arm(next.due);
        }
        if (failure != null) {
            throw Exceptions.propagate(failure);
        }
    }

    private @Nullable Task first() {
        if (tasks.isEmpty()) {
            return null;
        }
        try {
            return tasks.first();
        } catch (NoSuchElementException e) {
            return null; // emptied since
        }
    }

    /** One run scheduled on the timer. */
    private final class Run implements Runnable {
        final long due;
        private final Disposable.Swap task = Disposables.swap();

        Run(long due) {
            this.due = due;
        }

        void scheduled(Disposable t) {
            task.update(t);
        }

        void dispose() {
            task.dispose();
        }

        @Override
        public void run() {
            fire(this);
        }
    }

    /** A queued task: ordered by deadline, then by the order of scheduling. */
    @SuppressWarnings("serial") // never serialized
    private final class Task extends AtomicBoolean implements Disposable, Comparable<Task> {
        final Runnable task;
        final long due;
        final long seq;

        Task(Runnable task, long due, long seq) {
            this.task = task;
            this.due = due;
            this.seq = seq;
        }

        /** Takes the task out of the queue; @return whether it is to run (not disposed first) */
        boolean claim() {
            boolean mine = compareAndSet(false, true);
            tasks.remove(this); // also when a dispose won: the run must not find it first again
            return mine;
        }

        @Override
        public void dispose() {
            if (compareAndSet(false, true)) {
                tasks.remove(this);
            }
        }

        @Override
        public boolean isDisposed() {
            return get();
        }

        @Override
        public int compareTo(Task o) {
            long d = due - o.due;
            return d != 0 ? (d < 0 ? -1 : 1) : Long.compare(seq, o.seq);
        }
    }
}
