package dev.reactivelocks.internal;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BooleanSupplier;
import org.jspecify.annotations.Nullable;
import reactor.core.Exceptions;
import reactor.core.publisher.Operators;
import reactor.core.scheduler.Scheduler;
import reactor.core.scheduler.Schedulers;
import reactor.util.context.Context;

/**
 * A serial task queue (an actor): a lock-free queue drained by one thread at a time, so that the state its
 * steps touch needs no monitor, no monitor is held across I/O, and callers never wait.
 *
 * <p>The thread that finds the actor idle drains it itself when {@code inlineAllowed} says it may (e.g. it
 * may make the non-blocking file calls); otherwise the drain goes to the task's scheduler. A step that must
 * run on the scheduler and does not returns {@code false} having changed nothing, and the drain moves
 * there, from that step on. Steps of one submitter run in the order submitted, one at a time, each once.
 *
 * <p>Signals ({@link #emit}) are collected during a drain and run by the draining thread after it let go of
 * the actor, so that subscriber code never runs inside it. A signal may submit to an actor again at once,
 * which drains and signals again, nested; beyond {@link #MAX_NESTED_SIGNALS} levels on one thread the
 * signals go to the scheduler instead, so that a chain of hand-offs does not grow the stack. (Deferring them
 * to the outer level of the thread instead would deadlock a signal that blocks until a later signal of the
 * same thread.)
 *
 * <p>The in-process service's {@code GrantTrampoline} has the other policy, on purpose: it defers every grant
 * a release makes to the outermost delivery of the releasing thread, without a depth limit. Its waiters are
 * signalled on the releasing thread (a chain of 100,000 synchronous hand-offs stays on it, in constant
 * stack), and it has no scheduler its signals belong on: moving a deep chain to one would move grants off
 * that thread. It avoids the deadlock above in the one case that needs no nesting by the caller: a grant made
 * when the acquisition queues (a subscriber that waits for a free lock inside another grant's
 * {@code onNext}) is delivered at once, not through the trampoline. Here the steps already run on the
 * actor's scheduler whenever they cannot run inline, so bounded nesting breaks nothing the file service
 * promises.
 */
public final class SerialActor {

    /** One step of the actor. */
    @FunctionalInterface
    public interface Step {
        /**
         * @param onScheduler whether the step runs on its scheduler's thread
         * @return {@code false} to be run again on the scheduler (having changed nothing), else {@code true}
         */
        boolean run(boolean onScheduler);
    }

    /**
     * A queued step, and the node of the task queue: an intrusive multi-producer single-consumer linked
     * queue (producers swap the {@link #tail}, then link the previous tail to their node; the draining
     * thread follows {@code next} from {@link #head}), one object per step where a
     * {@code ConcurrentLinkedQueue} made two. A producer links its node before it counts it in {@link #wip},
     * so a drain that counted it can reach it, unless an earlier producer has not linked its own node yet:
     * that one's count is still to come, and its drain finds both.
     */
    private static final class Task {
        /** Cleared once the task is taken, so that the head does not keep what the step captured. */
        @Nullable Step step;
        @Nullable Scheduler scheduler;
        volatile @Nullable Task next;

        Task(@Nullable Step step, @Nullable Scheduler scheduler) {
            this.step = step;
            this.scheduler = scheduler;
        }
    }

    private static final VarHandle TAIL;

    static {
        try {
            TAIL = MethodHandles.lookup().findVarHandle(SerialActor.class, "tail", Task.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    /** How deeply signals may nest on one thread before they go to the scheduler. */
    private static final int MAX_NESTED_SIGNALS = 8;

    private static final ThreadLocal<int[]> SIGNAL_DEPTH = ThreadLocal.withInitial(() -> new int[1]);

    private final BooleanSupplier inlineAllowed;
    /** The last task taken (at first a placeholder); owned by the draining thread. */
    private Task head = new Task(null, null);
    /** The last task queued; swapped by producers. */
    @SuppressWarnings("unused") // through TAIL
    private volatile Task tail = head;
    private final AtomicInteger wip = new AtomicInteger();
    /** Owned by the draining thread. */
    private final List<Runnable> signals = new ArrayList<>();

    /** @param inlineAllowed whether the current thread may drain the actor itself */
    public SerialActor(BooleanSupplier inlineAllowed) {
        this.inlineAllowed = inlineAllowed;
    }

    /**
     * Queues {@code step}; drains the actor on this thread or on {@code scheduler} if it was idle.
     *
     * @param step the step
     * @param scheduler where the step runs when it cannot run on the submitting thread
     */
    public void execute(Step step, Scheduler scheduler) {
        Task t = new Task(step, scheduler);
        Task previous = (Task) TAIL.getAndSet(this, t);
        previous.next = t; // linked before it is counted
        if (wip.getAndIncrement() == 0) {
            if (inlineAllowed.getAsBoolean()) {
                drain(false, scheduler);
            } else {
                submit(scheduler);
            }
        }
    }

    /**
     * Queues a subscriber-facing signal; the draining thread runs it after letting go of the actor. Called
     * only from inside a step.
     *
     * @param signal the signal
     */
    public void emit(Runnable signal) {
        signals.add(signal);
    }

    private void submit(Scheduler scheduler) {
        try {
            scheduler.schedule(() -> drain(true, scheduler));
        } catch (RejectedExecutionException e) {
            // the submitting service's scheduler is gone; finish the work on Reactor's shared one
            Schedulers.boundedElastic().schedule(() -> drain(true, Schedulers.boundedElastic()));
        }
    }

    private void drain(boolean onScheduler, Scheduler scheduler) {
        int missed = 1;
        for (;;) {
            Task t;
            while ((t = head.next) != null) {
                Step step = Objects.requireNonNull(t.step, "step");
                Scheduler on = Objects.requireNonNull(t.scheduler, "scheduler");
                if (!run(step, onScheduler)) {
                    Object out = takeSignals();
                    submit(on); // the scheduler's thread owns the actor from now on (t stays queued)
                    runAll(out, on);
                    return;
                }
                t.step = null; // taken: t is the head now
                t.scheduler = null;
                head = t;
                scheduler = on;
            }
            Object out = takeSignals();
            missed = wip.addAndGet(-missed);
            if (missed != 0 && out != null) {
                submit(scheduler); // more work arrived: let the scheduler do it while we signal
                missed = 0;
            }
            runAll(out, scheduler);
            if (missed == 0) {
                return;
            }
        }
    }

    private static boolean run(Step step, boolean onScheduler) {
        try {
            return step.run(onScheduler);
        } catch (Throwable e) {
            Exceptions.throwIfJvmFatal(e);
            Operators.onErrorDropped(e, Context.empty());
            return true;
        }
    }

    /**
     * Takes the signals collected so far, for running after the drain let go of the actor (when another
     * thread may drain it and collect again).
     *
     * @return {@code null} when there is none, the {@link Runnable} when there is one (the usual case: no
     *         copy), else a {@code Runnable[]}
     */
    private @Nullable Object takeSignals() {
        int n = signals.size();
        if (n == 0) {
            return null;
        }
        Object out = n == 1 ? signals.get(0) : signals.toArray(new Runnable[0]);
        signals.clear();
        return out;
    }

    /** Runs what {@link #takeSignals()} took, if anything. */
    private static void runAll(@Nullable Object signals, Scheduler scheduler) {
        if (signals == null) {
            return;
        }
        int[] depth = SIGNAL_DEPTH.get();
        if (depth[0] >= MAX_NESTED_SIGNALS) {
            try {
                scheduler.schedule(() -> runAll(signals, scheduler));
            } catch (RejectedExecutionException e) {
                Schedulers.boundedElastic().schedule(() -> runAll(signals, Schedulers.boundedElastic()));
            }
            return;
        }
        depth[0]++;
        try {
            if (signals instanceof Runnable r) {
                runSignal(r);
            } else {
                for (Runnable r : (Runnable[]) signals) {
                    runSignal(r);
                }
            }
        } finally {
            depth[0]--;
        }
    }

    private static void runSignal(Runnable r) {
        try {
            r.run();
        } catch (Throwable e) {
            Exceptions.throwIfJvmFatal(e);
            Operators.onErrorDropped(e, Context.empty());
        }
    }
}
