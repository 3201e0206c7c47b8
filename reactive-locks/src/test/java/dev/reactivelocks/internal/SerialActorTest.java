package dev.reactivelocks.internal;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicIntegerArray;
import java.util.concurrent.locks.LockSupport;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import reactor.core.scheduler.Scheduler;
import reactor.core.scheduler.Schedulers;

/**
 * {@link SerialActor} alone, under contention: submitters released together by one spinning flag, each
 * spinning a random 0–500 iterations before every submission, some allowed to drain inline and some not,
 * and some steps that insist on the scheduler. Every step must run exactly once, never two at a time, in
 * submission order per submitter, and every emitted signal exactly once; a lost wake-up would leave steps
 * that never run.
 */
class SerialActorTest {

    private static final Duration WAIT = Duration.ofSeconds(20);
    private static final int SUBMITTERS = 4;
    private static final int STEPS = 300;
    private static final int ROUNDS = 40;

    private final Scheduler scheduler = Schedulers.newBoundedElastic(4, 100_000, "serial-actor-test");

    @AfterEach
    void dispose() {
        scheduler.dispose();
    }

    /** Submitters with an even index drain inline; odd ones always hand the drain to the scheduler. */
    private static boolean inline() {
        return !Thread.currentThread().getName().endsWith("-offload");
    }

    @Test
    void everyStepRunsOnceSeriallyInSubmissionOrderPerSubmitter() throws Exception {
        for (int round = 0; round < ROUNDS; round++) {
            runRound();
        }
    }

    @Test
    @Tag("loops")
    void everyStepRunsOnceSeriallyInSubmissionOrderPerSubmitter_loop() throws Exception {
        for (int round = 0; round < 50 * ROUNDS; round++) {
            runRound();
        }
    }

    private void runRound() throws InterruptedException {
        SerialActor actor = new SerialActor(SerialActorTest::inline);
        AtomicIntegerArray ran = new AtomicIntegerArray(SUBMITTERS * STEPS);
        AtomicIntegerArray signalled = new AtomicIntegerArray(SUBMITTERS * STEPS);
        int[] lastSeen = new int[SUBMITTERS];   // owned by the actor
        java.util.Arrays.fill(lastSeen, -1);
        AtomicInteger inside = new AtomicInteger();
        AtomicInteger violations = new AtomicInteger();
        AtomicInteger done = new AtomicInteger();
        boolean[] go = new boolean[1];
        Object start = new Object();
        List<Thread> threads = new ArrayList<>();
        for (int s = 0; s < SUBMITTERS; s++) {
            int submitter = s;
            Thread t = new Thread(() -> {
                synchronized (start) {
                    while (!go[0]) {
                        try {
                            start.wait();
                        } catch (InterruptedException e) {
                            return;
                        }
                    }
                }
                for (int i = 0; i < STEPS; i++) {
                    int seq = i;
                    int id = submitter * STEPS + seq;
                    boolean wantsScheduler = ThreadLocalRandom.current().nextInt(8) == 0;
                    spin();
                    actor.execute(onScheduler -> {
                        if (wantsScheduler && !onScheduler) {
                            return false; // changes nothing: the drain moves to the scheduler
                        }
                        if (inside.incrementAndGet() != 1) {
                            violations.incrementAndGet();
                        }
                        if (lastSeen[submitter] != seq - 1) {
                            violations.incrementAndGet();
                        }
                        lastSeen[submitter] = seq;
                        ran.incrementAndGet(id);
                        actor.emit(() -> {
                            signalled.incrementAndGet(id);
                            done.incrementAndGet();
                        });
                        inside.decrementAndGet();
                        return true;
                    }, scheduler);
                }
            }, "submitter-" + s + (s % 2 == 1 ? "-offload" : ""));
            threads.add(t);
            t.start();
        }
        synchronized (start) {
            go[0] = true;
            start.notifyAll();
        }
        for (Thread t : threads) {
            t.join(WAIT.toMillis());
        }
        long deadline = System.nanoTime() + WAIT.toNanos();
        while (done.get() < SUBMITTERS * STEPS && System.nanoTime() < deadline) {
            LockSupport.parkNanos(1_000_000);
        }
        assertThat(done.get()).as("signals run (a lost wake-up leaves steps unrun)").isEqualTo(SUBMITTERS * STEPS);
        assertThat(violations.get()).as("steps overlapping or out of submission order").isZero();
        for (int i = 0; i < SUBMITTERS * STEPS; i++) {
            assertThat(ran.get(i)).as("runs of step %d", i).isEqualTo(1);
            assertThat(signalled.get(i)).as("signals of step %d", i).isEqualTo(1);
        }
    }

    private static void spin() {
        int n = ThreadLocalRandom.current().nextInt(501);
        for (int i = 0; i < n; i++) {
            Thread.onSpinWait();
        }
    }
}
