package dev.reactivelocks.process;

import java.util.ArrayList;
import java.util.List;
import java.util.Queue;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;

/**
 * One library-owned thread that drives the runs assigned to it: reads their pipes while their subscribers
 * have demand, detects exits, enforces timeouts and kill graces.
 *
 * <pre>
 *   loop:  take new runs ─▶ for each due run: poll() ─▶ progress? ─yes─▶ loop
 *                                                        │no
 *                                                        ▼
 *                         park until the earliest due run, or until wake(run) unparks
 * </pre>
 *
 * @implNote A run that made no progress is polled again after a back-off that doubles from
 *     {@value #MIN_BACKOFF_NANOS} ns up to {@value #MAX_BACKOFF_NANOS} ns; a run that is woken (new demand,
 *     cancellation) is polled on the next pass. An idle run with demand therefore costs at most two
 *     {@code FIONREAD} system calls every 4 ms, and a run without demand none at all. Java's process pipes
 *     are not selectable, so this bounded polling is what lets one thread serve hundreds of children.
 */
final class IoPoller implements Runnable {

    static final long MIN_BACKOFF_NANOS = 50_000L;
    static final long MAX_BACKOFF_NANOS = 4_000_000L;

    private final Queue<ProcessRun> added = new ConcurrentLinkedQueue<>();
    private final List<ProcessRun> runs = new ArrayList<>();
    private final Thread thread;
    private volatile boolean stopped;

    IoPoller(String name) {
        this.thread = new Thread(this, name);
        thread.setDaemon(true);
    }

    void start() {
        thread.start();
    }

    void register(ProcessRun run) {
        added.add(run);
        LockSupport.unpark(thread);
    }

    /** Has {@code run} polled on the next pass. */
    void wake(ProcessRun run) {
        run.signalled = true;
        LockSupport.unpark(thread);
    }

    void stop() {
        stopped = true;
        LockSupport.unpark(thread);
    }

    Thread thread() {
        return thread;
    }

    @Override
    public void run() {
        while (!stopped) {
            ProcessRun fresh;
            while ((fresh = added.poll()) != null) {
                fresh.nextPollNanos = System.nanoTime();
                runs.add(fresh);
            }
            long now = System.nanoTime();
            boolean progress = false;
            long nextDue = Long.MAX_VALUE;
            for (int i = 0; i < runs.size(); i++) {
                ProcessRun run = runs.get(i);
                if (run.signalled || now - run.nextPollNanos >= 0) {
                    run.signalled = false;
                    boolean moved = run.pollSafely(now);
                    if (run.isFinished()) {
                        runs.set(i, runs.get(runs.size() - 1));
                        runs.remove(runs.size() - 1);
                        i--;
                        continue;
                    }
                    if (moved) {
                        progress = true;
                        run.backoffNanos = 0;
                        run.nextPollNanos = now;
                    } else {
                        run.backoffNanos = run.backoffNanos == 0 ? MIN_BACKOFF_NANOS
                                : Math.min(run.backoffNanos * 2, MAX_BACKOFF_NANOS);
                        run.nextPollNanos = run.dueBefore(now + run.backoffNanos);
                    }
                }
                if (nextDue == Long.MAX_VALUE || run.nextPollNanos - nextDue < 0) {
                    nextDue = run.nextPollNanos;
                }
            }
            if (!progress && added.isEmpty()) {
                if (runs.isEmpty()) {
                    LockSupport.park(this);
                } else {
                    long wait = nextDue - System.nanoTime();
                    if (wait > 0) {
                        LockSupport.parkNanos(this, Math.min(wait, TimeUnit.MILLISECONDS.toNanos(50)));
                    }
                }
            }
        }
    }
}
