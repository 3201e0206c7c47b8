package dev.reactivelocks;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import reactor.core.scheduler.Schedulers;
import reactor.test.StepVerifier;
import reactor.test.util.TestLogger;
import reactor.util.Loggers;

class SemaphoreAndLoggingTest {

    private final InProcessLockService locks = LockService.builder().build();

    @AfterEach
    void dispose() {
        locks.dispose();
        Loggers.resetLoggerFactory();
    }

    @Test
    void permitsLimitConcurrentHoldersAndQueueFairly() {
        LockOptions two = LockOptions.permits(2);
        LockHandle a = locks.acquire("api", two).block();
        LockHandle b = locks.acquire("api", two).block();
        List<String> order = new ArrayList<>();
        locks.acquire("api", two).subscribe(h -> order.add("c"));
        locks.acquire("api", two).subscribe(h -> order.add("d"));
        assertThat(order).isEmpty();
        assertThat(locks.tryAcquire("api", two).block()).as("full semaphore").isNull();
        assertThat(locks.stats("api")).get().extracting(LockStats::holders, LockStats::pending).containsExactly(2, 2);

        a.release().block();
        assertThat(order).containsExactly("c");
        b.release().block();
        assertThat(order).containsExactly("c", "d");
    }

    @Test
    void exclusiveAcquisitionDrainsPermitsAndKeepsNewOnesOut() {
        LockHandle permit = locks.acquire("pool", LockOptions.permits(5)).block();
        List<String> order = new ArrayList<>();
        locks.acquire("pool").subscribe(h -> {
            order.add("maintenance");
            h.release().subscribe();
        });
        locks.acquire("pool", LockOptions.permits(5)).subscribe(h -> order.add("permit"));
        assertThat(order).isEmpty();
        permit.release().block();
        assertThat(order).containsExactly("maintenance", "permit");
    }

    @Test
    void concurrencyNeverExceedsThePermits() {
        AtomicInteger inside = new AtomicInteger();
        AtomicInteger max = new AtomicInteger();
        Flux.range(0, 500)
                .flatMap(i -> locks.withLock("limit", LockOptions.permits(3), Mono.fromRunnable(() ->
                        max.accumulateAndGet(inside.incrementAndGet(), Math::max))
                        .subscribeOn(Schedulers.parallel())
                        .then(Mono.fromRunnable(inside::decrementAndGet))), 64)
                .blockLast(Duration.ofSeconds(10));
        assertThat(max.get()).isBetween(1, 3);
        assertThat(locks.size()).isZero();
    }

    @Test
    void permitTimeoutUsesTheLockMessage() {
        LockHandle only = locks.acquire("one", LockOptions.permits(1)).block();
        StepVerifier.withVirtualTime(() -> locks.acquire("one", LockOptions.permits(1).timeout(Duration.ofSeconds(2))))
                .expectSubscription()
                .thenAwait(Duration.ofSeconds(2))
                .expectErrorMessage("Lock 'one' (SHARED) not acquired within 2s")
                .verify(Duration.ofSeconds(5));
        only.release().block();
    }

    @Test
    void invalidPermitsAreRejectedWithTheirValue() {
        assertThatThrownBy(() -> LockOptions.permits(0))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("permits must be >= 1, was 0");
        assertThat(LockOptions.permits(3).timeout(Duration.ofSeconds(1)).toString())
                .isEqualTo("LockOptions{SHARED, permits=3, timeout=PT1S}");
        assertThat(LockOptions.permits(3).noTimeout()).isEqualTo(LockOptions.permits(3));
        assertThat(LockOptions.permits(3).limitsHolders()).isTrue();
        assertThat(LockOptions.shared().limitsHolders()).isFalse();
    }

    @Test
    void logsAcquiringAcquiredAndReleasedAtDebugOnly() {
        TestLogger logger = new TestLogger(false);
        Loggers.useCustomLoggers(name -> logger);
        InProcessLockService logged = LockService.builder().build();
        logged.withLock("audit", Mono.just(1)).block();
        String out = logger.getOutContent();
        assertThat(out).contains("[DEBUG] Acquiring lock 'audit' (EXCLUSIVE)")
                .containsPattern("\\[DEBUG] Acquired lock 'audit' \\(EXCLUSIVE\\) after waiting \\d+\\.\\d{3}s")
                .containsPattern("\\[DEBUG] Released lock 'audit' \\(EXCLUSIVE\\) held \\d+\\.\\d{3}s")
                .doesNotContain("[ INFO]");
        logged.withLock("audit", Mono.just(1)).block(); // the entry was kept: granted through the fast path
        out = logger.getOutContent().substring(out.length());
        assertThat(out).contains("[DEBUG] Acquiring lock 'audit' (EXCLUSIVE)")
                .containsPattern("\\[DEBUG] Acquired lock 'audit' \\(EXCLUSIVE\\) after waiting \\d+\\.\\d{3}s")
                .containsPattern("\\[DEBUG] Released lock 'audit' \\(EXCLUSIVE\\) held \\d+\\.\\d{3}s")
                .doesNotContain("[ INFO]");
        assertThat(logger.getErrContent()).isEmpty();
    }
}
