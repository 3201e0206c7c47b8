package dev.reactivelocks.testkit.contract;

import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.locks.LockSupport;

/**
 * Two threads (the caller and a helper) released together by a spinning flag, each spinning a random 0-500
 * iterations (or up to a given maximum) before its racing call, so that races land anywhere in a window
 * (barrier-synchronised loops have missed real leaks: timing jitter matters). The helper parks while idle.
 */
public final class SpinRacer implements AutoCloseable {

    private final Thread helper;
    private volatile int generation;
    private volatile int ready;
    private volatile int finished;
    private volatile Runnable helperTask = () -> { };
    private volatile boolean closed;
    private volatile Throwable helperError;

    private final int maxSpin;

    /** Starts the helper thread; close to stop it. */
    public SpinRacer() {
        this(500);
    }

    /**
     * A racer whose random spins are at most {@code maxSpin} iterations: for windows of a few nanoseconds a
     * few hundred nanoseconds from the start of both calls, which spins of up to 500 iterations (several
     * microseconds) hit too rarely.
     *
     * @param maxSpin the longest spin before a racing call, in {@link Thread#onSpinWait()} iterations, {@code >= 0}
     * @throws IllegalArgumentException if {@code maxSpin < 0}
     */
    public SpinRacer(int maxSpin) {
        if (maxSpin < 0) {
            throw new IllegalArgumentException("maxSpin must be >= 0, was " + maxSpin);
        }
        this.maxSpin = maxSpin;
        helper = new Thread(this::helperLoop, "spin-racer");
        helper.setDaemon(true);
        helper.start();
    }

    /**
     * Runs {@code mine} on this thread and {@code theirs} on the helper, released together. Call it from one
     * thread at a time.
     *
     * @param mine the racing call of this thread
     * @param theirs the racing call of the helper thread
     * @throws IllegalStateException if this racer is closed (also when it is closed during the race, before
     *     the helper took its call), or if {@code theirs} threw (as the cause)
     */
    public void race(Runnable mine, Runnable theirs) {
        if (closed) {
            throw new IllegalStateException("the racer is closed");
        }
        helperTask = theirs;
        int g = generation + 1;
        generation = g;
        LockSupport.unpark(helper);
        while (ready != g) {       // the helper is awake: both start now
            awaitHelper();
        }
        spin();
        mine.run();
        while (finished != g) {
            awaitHelper();
        }
        Throwable e = helperError;
        if (e != null) {
            helperError = null;
            throw new IllegalStateException("the racing call failed", e);
        }
    }

    private void helperLoop() {
        int seen = 0;
        while (!closed) {
            int g = generation;
            if (g == seen) {
                LockSupport.parkNanos(1_000_000);
                continue;
            }
            seen = g;
            ready = g;
            spin();
            try {
                helperTask.run();
            } catch (Throwable e) {
                helperError = e;
            }
            finished = g;
        }
    }

    /** One turn of a wait for the helper; fails once the helper has ended (the racer was closed). */
    private void awaitHelper() {
        if (closed && !helper.isAlive()) {
            throw new IllegalStateException("the racer was closed during the race");
        }
        Thread.onSpinWait();
    }

    private void spin() {
        int n = ThreadLocalRandom.current().nextInt(maxSpin + 1);
        for (int i = 0; i < n; i++) {
            Thread.onSpinWait();
        }
    }

    @Override
    public void close() {
        closed = true;
        LockSupport.unpark(helper);
    }
}
