package dev.reactivelocks.file;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import reactor.core.scheduler.Scheduler;
import reactor.core.scheduler.Schedulers;

/**
 * A file scheduler of one thread that a test holds back: {@link #gate()} parks a task on the thread, so any
 * work an acquisition leaves to the scheduler waits behind it until {@link #open()}. Made by
 * {@link FileLockFixture#heldBackFileScheduler()}, which closes it after the test.
 */
final class HeldBackFileScheduler implements AutoCloseable {

    private static final Duration WAIT = FileLockFixture.WAIT;

    private final ThreadPoolExecutor fileThread = new ThreadPoolExecutor(1, 1, 0, TimeUnit.MILLISECONDS,
            new LinkedBlockingQueue<>());
    private final Scheduler scheduler = Schedulers.fromExecutorService(fileThread, "held-back-file-scheduler");
    private CountDownLatch gate = new CountDownLatch(0);

    /** @return the scheduler to give the service ({@link FileLockConfig.Builder#scheduler}) */
    Scheduler scheduler() {
        return scheduler;
    }

    /** Holds the thread back: returns once a task waiting for {@link #open()} runs on it. */
    void gate() throws InterruptedException {
        CountDownLatch gate = new CountDownLatch(1);
        CountDownLatch heldBack = new CountDownLatch(1);
        fileThread.execute(() -> {
            heldBack.countDown();
            try {
                gate.await();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        });
        assertThat(heldBack.await(WAIT.toMillis(), TimeUnit.MILLISECONDS)).isTrue();
        this.gate = gate;
    }

    /** Lets the thread go and returns once what was left to it meanwhile ran. */
    void open() throws Exception {
        gate.countDown();
        drain();
    }

    /** Returns once what was submitted to the thread so far ran. */
    void drain() throws Exception {
        fileThread.submit(() -> { }).get(WAIT.toMillis(), TimeUnit.MILLISECONDS);
    }

    @Override
    public void close() {
        scheduler.dispose();
        fileThread.shutdownNow();
    }
}
