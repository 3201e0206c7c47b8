package dev.reactivelocks.internal;

import java.util.NoSuchElementException;
import java.util.concurrent.ConcurrentSkipListSet;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.jspecify.annotations.Nullable;
import reactor.core.Disposable;
import reactor.core.Disposables;
import reactor.core.Exceptions;
import reactor.core.scheduler.Scheduler;

/**
 * One-shot timer tasks of one owner (a distributed lock service: the bound of each backend call, renewals,
 * lease watches, poll sleeps; a backend: the timeout of each command),
 * ordered by deadline, with one task at a time scheduled on the timer {@link Scheduler}: the <em>run</em>,
 * due at the earliest deadline, which runs every task that is due and schedules the next run.
 *
 * <p>Why: a task scheduled on a Reactor timer whose queue is empty wakes the timer's thread, and a task
 * disposed before it is due leaves the queue empty again. A backend call bounded by a task of its own, answered
 * within a millisecond, thus woke a thread twice per call for a timeout that almost never fires. Here a
 * task due after the run costs an insertion into a concurrent skip list and a removal when disposed; the timer
 * is touched only when a task is due before every other ({@link #schedule} then schedules an earlier run and
 * cancels the later one), and when a run finds tasks left.
 *
 * <pre>
 *   schedule(task, due d) ──► queued ──── dispose ──────────────────────────► removed, never runs
 *      │ if no run is due by d:            └── the run due at or before d ──► removed, runs on the timer
 *      └── schedule a run at d on the timer (the later run, if any and not begun, is cancelled)
 * </pre>
 *
 * Tasks run on the timer's thread, one after another, in the order of their deadlines (ties in the order
 * they were scheduled); a task that throws does not keep the others from running, and the first error is
 * thrown on to the timer once the run is over. A task disposed while due may still run, as with a
 * scheduler's own tasks. Deadlines are measured with the timer's {@link Scheduler#now(TimeUnit)} in
 * nanoseconds: {@link System#nanoTime()} for Reactor's schedulers (a step of the wall clock neither fires a
 * task early nor holds it back), the virtual clock for a virtual-time scheduler.
 *
 * <p>Invariant, in the lock of this queue: {@code armedAt} is the deadline of {@code armed}, the latest run
 * armed (scheduled, or about to be) whose {@code fire} has not yet cleared it, or {@link #NONE}. A thread that
 * queued a task and then reads an {@code armedAt} at or before the task's deadline may leave it: that run has
 * not yet cleared it (a run clears it first, in the lock), so its scan comes after the task was queued, and it
 * runs the task or arms a run for it; a run that replaced it was armed at an earlier deadline and does the same.
 * When the timer rejects a run, the run it would have replaced (if it has not begun) is armed again.
 */
public final class TimerQueue {

    private static final long NONE = Long.MIN_VALUE;
    /** Delays are capped to about 73 years, so that a deadline never wraps past the clock. */
    private static final long MAX_DELAY = Long.MAX_VALUE >> 2;
    private final Scheduler timer;
    private final ConcurrentSkipListSet<Task> tasks = new ConcurrentSkipListSet<>();
    private final AtomicLong sequence = new AtomicLong();
    private volatile long armedAt = NONE;
    private @Nullable Run armed;

    /** @param timer where the runs are scheduled, and the tasks run */
    public TimerQueue(Scheduler timer) {
        this.timer = timer;
    }

    /** @return the scheduler the runs are scheduled on */
    public Scheduler timer() {
        return timer;
    }

    /**
     * For an owner that looks its timer up at each use (so that {@code StepVerifier.withVirtualTime} replaces
     * {@code Schedulers.parallel()}): its queue for {@code timer}.
     *
     * @return {@code current} when it runs on {@code timer}, else a new queue on {@code timer} (the tasks of
     *         {@code current} still run on its timer, as they would have)
     */
    public static TimerQueue on(Scheduler timer, @Nullable TimerQueue current) {
        return current != null && current.timer == timer ? current : new TimerQueue(timer);
    }

    /**
     * Runs {@code task} on the timer after {@code delay}, unless the returned {@link Disposable} is disposed
     * first.
     *
     * @throws RejectedExecutionException if the timer is disposed, or a run was needed and the timer rejected
     *                                    it (the task is then not queued)
     */
    public Disposable schedule(Runnable task, long delay, TimeUnit unit) {
        if (timer.isDisposed()) {
            throw Exceptions.failWithRejected(); // a task due after the run armed would not touch the timer
        }
        long due = now() + Math.min(Math.max(unit.toNanos(delay), 0), MAX_DELAY);
        Task t = new Task(task, due == NONE ? NONE + 1 : due, sequence.getAndIncrement());
        tasks.add(t);
        try {
            arm(t.due);
        } catch (RuntimeException e) {
            t.dispose();
            rearmAfterRejection();
            throw e;
        }
        return t;
    }

    /** @return the number of tasks queued and not yet run or disposed (O(n): for tests and diagnostics) */
    public int size() {
        return tasks.size();
    }

    private long now() {
        return timer.now(TimeUnit.NANOSECONDS);
    }

    private static boolean covers(long armedAt, long due) {
        return armedAt != NONE && armedAt - due <= 0;
    }

    /**
     * Makes sure a run is due at or before {@code due}. The run is scheduled outside the lock: a timer that runs
     * due tasks inside {@code schedule} (virtual time) then runs them without it. The run it replaces is
     * cancelled only once the new one is scheduled, and only if it has not begun.
     *
     * @throws RejectedExecutionException if the timer rejected the run; the run it would have replaced still
     *                                    covers what it covered
     */
    private void arm(long due) {
        if (covers(armedAt, due)) {
            return;
        }
        Run run = new Run(due);
        Run previous;
        synchronized (this) {
            if (covers(armedAt, due)) {
                return;
            }
            previous = armed;
            armed = run;
            armedAt = due;
        }
        Disposable scheduled;
        try {
            scheduled = timer.schedule(run, Math.max(0, due - now()), TimeUnit.NANOSECONDS);
        } catch (RuntimeException e) {
            synchronized (this) {
                if (armed == run) { // the tasks that counted on it count on the previous run, if it has not begun
                    boolean pending = previous != null && previous.pending();
                    armed = pending ? previous : null;
                    armedAt = pending ? previous.due : NONE;
                }
            }
            throw e;
        }
        run.scheduled(scheduled);
        if (previous != null) {
            previous.cancel();
        }
    }

    /** After a rejected run: one more try to arm a run for the tasks left (a timer may reject for a while). */
    private void rearmAfterRejection() {
        Task next = first();
        if (next != null) {
            try {
                arm(next.due);
            } catch (RuntimeException again) {
                // still rejecting: the tasks left run when a later schedule arms a run, or never on a disposed timer
            }
        }
    }

    /**
     * The run armed for {@code run.due}: every task due (scheduled before it began), then a run for the
     * earliest task left, also when a task threw (the first error is then thrown on to the timer; a JVM-fatal
     * one stops the run at once).
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
                    failure = failure == null ? e : withSuppressed(failure, e);
                    if (Exceptions.isJvmFatal(e)) {
                        failure = e;
                        break;
                    }
                }
            }
        }
        Task next = first();
        if (next != null) {
            try {
                arm(next.due);
            } catch (RuntimeException e) {
                failure = failure == null ? e : withSuppressed(failure, e);
            }
        }
        if (failure instanceof Error error) {
            throw error;
        }
        if (failure != null) {
            throw Exceptions.propagate(failure);
        }
    }

    private static Throwable withSuppressed(Throwable first, Throwable next) {
        if (first != next) {
            first.addSuppressed(next);
        }
        return first;
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

    /**
     * One run scheduled on the timer: PENDING, then STARTED when the timer runs it, or CANCELLED when a run due
     * earlier replaced it first. Only a PENDING run is disposed on the timer: a scheduler may interrupt the
     * thread of a task disposed while it runs, and a run runs every due task of the queue.
     */
    @SuppressWarnings("serial") // never serialized
    private final class Run extends AtomicInteger implements Runnable {
        private static final int PENDING = 0;
        private static final int STARTED = 1;
        private static final int CANCELLED = 2;

        final long due;
        private final Disposable.Swap task = Disposables.swap();

        Run(long due) {
            this.due = due;
        }

        void scheduled(Disposable t) {
            task.update(t); // disposes t when cancelled before
        }

        boolean pending() {
            return get() == PENDING;
        }

        void cancel() {
            if (compareAndSet(PENDING, CANCELLED)) {
                task.dispose();
            }
        }

        @Override
        public void run() {
            if (compareAndSet(PENDING, STARTED)) {
                fire(this);
            }
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
