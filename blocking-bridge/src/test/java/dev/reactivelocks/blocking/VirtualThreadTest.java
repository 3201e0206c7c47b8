package dev.reactivelocks.blocking;

import static dev.reactivelocks.blocking.Conditions.awaitIdle;
import static dev.reactivelocks.blocking.Conditions.awaitPending;
import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.reactivelocks.InProcessLockService;
import dev.reactivelocks.LockService;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.MethodType;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.Lock;
import jdk.jfr.Recording;
import jdk.jfr.consumer.RecordedEvent;
import jdk.jfr.consumer.RecordingFile;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Blocking waits park virtual threads without pinning their carrier. Compiled for Java 17: virtual threads
 * are reached through method handles, and the tests are skipped (assumption) on a JDK without them.
 *
 * <p>The module's surefire configuration gives the virtual-thread scheduler a single carrier
 * ({@code jdk.virtualThreadScheduler.parallelism=1}, {@code maxPoolSize=1}): one pinned waiter would stall
 * every other virtual thread, so these tests would time out instead of passing by luck. JFR's
 * {@code jdk.VirtualThreadPinned} events are recorded as a second, direct witness.
 */
class VirtualThreadTest {

    private static final int WAITERS = 50;

    private final InProcessLockService service = LockService.builder().build();
    private final BlockingLockService locks = BlockingLockService.of(service);

    @AfterEach
    void tearDown() {
        service.dispose();
    }

    private static ExecutorService virtualThreads() throws Throwable {
        assumeTrue(Runtime.version().feature() >= 21,
                "Virtual threads need JDK 21+; this JVM is " + Runtime.version() + ", so the test is skipped");
        MethodHandle factory = MethodHandles.publicLookup().findStatic(Executors.class,
                "newVirtualThreadPerTaskExecutor", MethodType.methodType(ExecutorService.class));
        return (ExecutorService) factory.invokeExact();
    }

    private static boolean isVirtual(Thread thread) throws Throwable {
        MethodHandle isVirtual = MethodHandles.publicLookup()
                .findVirtual(Thread.class, "isVirtual", MethodType.methodType(boolean.class));
        return (boolean) isVirtual.invokeExact(thread);
    }

    @Test
    void manyVirtualThreadsWaitForOneLockOnASingleCarrierWithoutPinning(@TempDir Path dir) throws Throwable {
        ExecutorService virtual = virtualThreads();
        List<Integer> order = new CopyOnWriteArrayList<>();
        List<RecordedEvent> pinned;
        try (Recording recording = new Recording()) {
            recording.enable("jdk.VirtualThreadPinned").withThreshold(Duration.ZERO).withStackTrace();
            recording.start();

            CountDownLatch release = new CountDownLatch(1);
            Future<Thread> holder = virtual.submit(() -> {
                try (BlockingLockHandle h = locks.lock("orders")) {
                    release.await(); // parks the holder too: it needs the only carrier back to release
                }
                return Thread.currentThread();
            });
            awaitHeld();

            List<Future<?>> waiters = new ArrayList<>();
            for (int i = 0; i < WAITERS; i++) {
                int id = i;
                waiters.add(virtual.submit(() -> {
                    try (BlockingLockHandle h = locks.lock("orders")) {
                        order.add(id);
                    }
                    return null;
                }));
                awaitPending(service, "orders", i + 1); // queue them in a known order
            }

            release.countDown();
            assertThat(isVirtual(holder.get(Conditions.WAIT.toSeconds(), TimeUnit.SECONDS)))
                    .as("ran on a virtual thread").isTrue();
            for (Future<?> waiter : waiters) {
                waiter.get(Conditions.WAIT.toSeconds(), TimeUnit.SECONDS);
            }
            recording.stop();
            Path file = dir.resolve("pinned.jfr");
            recording.dump(file);
            pinned = Files.exists(file) ? RecordingFile.readAllEvents(file) : List.of();
        } finally {
            virtual.shutdownNow();
        }
        List<Integer> expected = new ArrayList<>();
        for (int i = 0; i < WAITERS; i++) {
            expected.add(i);
        }
        assertThat(order).as("FIFO, all granted").isEqualTo(expected);
        assertThat(pinned).as("jdk.VirtualThreadPinned events").isEmpty();
        awaitIdle(service, "orders");
    }

    @Test
    void virtualThreadsAnswerInterruptAndTimeoutWhileParked() throws Throwable {
        ExecutorService virtual = virtualThreads();
        try {
            BlockingLockHandle held = locks.lock("orders");
            Lock lock = locks.asLock("orders");
            Future<Boolean> timed = virtual.submit(() -> lock.tryLock(50, TimeUnit.MILLISECONDS));
            assertThat(timed.get(Conditions.WAIT.toSeconds(), TimeUnit.SECONDS)).isFalse();

            Future<?> interruptible = virtual.submit(() -> {
                lock.lockInterruptibly();
                return null;
            });
            awaitPending(service, "orders", 1);
            interruptible.cancel(true); // interrupts the virtual thread
            awaitPending(service, "orders", 0);
            held.close();
            awaitIdle(service, "orders");
        } finally {
            virtual.shutdownNow();
        }
    }

    private void awaitHeld() {
        Conditions.await("'orders' held", () -> service.stats("orders").map(s -> s.holders() == 1).orElse(false));
    }
}
