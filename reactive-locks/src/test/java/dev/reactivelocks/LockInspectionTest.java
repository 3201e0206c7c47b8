package dev.reactivelocks;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.Test;
import reactor.core.publisher.Mono;
import reactor.test.StepVerifier;

/** {@link LockInfo}, the default inspection of {@link LockService}, and in-process specifics. */
class LockInspectionTest {

    private static final Duration WAIT = Duration.ofSeconds(10);

    @Test
    void optionalFieldsAreEmptyUntilSetAndOwnersAreKeptOnce() {
        LockInfo bare = LockInfo.builder("a", LockMode.SHARED, 3).build();
        assertThat(bare.fencingToken()).isEmpty();
        assertThat(bare.heldSince()).isEmpty();
        assertThat(bare.leaseExpiry()).isEmpty();
        assertThat(bare.waiting()).isEmpty();
        assertThat(bare.owners()).isEmpty();
        assertThat(bare).hasToString("LockInfo{name='a', mode=SHARED, holders=3}");

        Instant t = Instant.parse("2026-01-02T03:04:05Z");
        LockInfo full = LockInfo.builder("a", LockMode.EXCLUSIVE, 1).fencingToken(0).heldSince(t)
                .leaseExpiry(t.plusSeconds(30)).waiting(0).owner("h:1").owner("h:1").build();
        assertThat(full.fencingToken()).hasValue(0);
        assertThat(full.owners()).containsExactly("h:1");
        assertThat(full).hasToString("LockInfo{name='a', mode=EXCLUSIVE, holders=1, fencingToken=0, heldSince="
                + "2026-01-02T03:04:05Z, leaseExpiry=2026-01-02T03:04:35Z, waiting=0, owners=[h:1]}");
        assertThat(full.withName("b")).isEqualTo(full.toBuilder().name("b").build()).isNotEqualTo(full)
                .satisfies(b -> assertThat(b.name()).isEqualTo("b"));
        assertThatThrownBy(() -> full.owners().add("x")).isInstanceOf(UnsupportedOperationException.class);
    }

    @Test
    void impossibleStatesAreRefused() {
        assertThatThrownBy(() -> LockInfo.builder("a", LockMode.SHARED, 0))
                .isInstanceOf(IllegalArgumentException.class).hasMessage("holders must be >= 1, was 0");
        assertThatThrownBy(() -> LockInfo.builder("a", LockMode.EXCLUSIVE, 2))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("an exclusive lock has exactly 1 holder, was 2");
        assertThatThrownBy(() -> LockInfo.builder("", LockMode.SHARED, 1))
                .isInstanceOf(IllegalArgumentException.class).hasMessage("name must not be empty");
        assertThatThrownBy(() -> LockInfo.builder("a", LockMode.SHARED, 1).waiting(-1))
                .isInstanceOf(IllegalArgumentException.class).hasMessage("waiting must be >= 0, was -1");
        assertThatThrownBy(() -> LockInfo.builder("a", LockMode.SHARED, 1).owner(""))
                .isInstanceOf(IllegalArgumentException.class).hasMessage("owner must not be empty");
    }

    /** A third-party implementation written before inspection existed: it says it cannot tell. */
    @Test
    void servicesWithoutInspectionSignalUnsupportedOperation() {
        LockService legacy = new LockService() {
            @Override
            public Mono<LockHandle> acquire(String name, LockOptions options) {
                return Mono.never();
            }

            @Override
            public Mono<LockHandle> tryAcquire(String name, LockOptions options) {
                return Mono.empty();
            }

            @Override
            public Mono<Void> disposeLater() {
                return Mono.empty();
            }
        };
        StepVerifier.create(legacy.inspect("a"))
                .expectErrorSatisfies(e -> assertThat(e).isInstanceOf(UnsupportedOperationException.class)
                        .hasMessageEndingWith(" cannot inspect locks"))
                .verify(WAIT);
        StepVerifier.create(legacy.withPrefix("p").locks(""))
                .expectErrorSatisfies(e -> assertThat(e).isInstanceOf(UnsupportedOperationException.class)
                        .hasMessageEndingWith(" cannot list locks"))
                .verify(WAIT);
    }

    @Test
    void aFastPathHoldTakenOverByInspectionReportsWhenItWasGranted() throws InterruptedException {
        InProcessLockService locks = LockService.builder().build();
        locks.acquire("fast").block(WAIT).release().block(WAIT); // the entry is kept: the next grant is fast
        long before = System.currentTimeMillis();
        LockHandle h = locks.acquire("fast").block(WAIT);
        long after = System.currentTimeMillis();
        assertThat(((Acquisition) h).grantedFast()).isTrue();
        Thread.sleep(50);
        Instant since = locks.inspect("fast").block(WAIT).heldSince().orElseThrow();
        // the fast path's clock may be a refresh old: a tick, or longer on a machine without a free core
        assertThat(since.toEpochMilli()).as("the grant's time, not the inspection's").isBetween(before - 1_000, after);
        h.release().block(WAIT);
        assertThat(locks.inspect("fast").blockOptional(WAIT)).isEmpty();
    }

    @Test
    void semaphorePermitsAreCountedAndTheHeldPeriodSpansOverlappingHolders() {
        LockService locks = LockService.inProcess();
        LockHandle first = locks.acquire("pool", LockOptions.permits(3)).block(WAIT);
        Instant since = locks.inspect("pool").block(WAIT).heldSince().orElseThrow();
        LockHandle second = locks.acquire("pool", LockOptions.permits(3)).block(WAIT);
        first.release().block(WAIT);
        LockHandle third = locks.acquire("pool", LockOptions.permits(3)).block(WAIT);
        LockInfo info = locks.inspect("pool").block(WAIT);
        assertThat(info.holders()).isEqualTo(2);
        assertThat(info.heldSince()).as("held without interruption since the first grant").hasValue(since);
        assertThat(info.fencingToken()).hasValue(third.fencingToken());
        assertThat(locks.locks("po").map(LockInfo::name).collectList().block(WAIT)).isEqualTo(List.of("pool"));
        second.release().block(WAIT);
        third.release().block(WAIT);
        assertThat(locks.inspect("pool").blockOptional(WAIT)).isEmpty();
    }

    @Test
    void perCallLeasesAreValidatedAndPartOfTheOptions() {
        LockOptions leased = LockOptions.shared().lease(Duration.ofSeconds(5)).timeout(Duration.ofSeconds(1));
        assertThat(leased.lease()).hasValue(Duration.ofSeconds(5));
        assertThat(leased.noTimeout().lease()).hasValue(Duration.ofSeconds(5));
        assertThat(LockOptions.shared().lease()).isEmpty();
        assertThat(leased).hasToString("LockOptions{SHARED, timeout=PT1S, lease=PT5S}")
                .isEqualTo(LockOptions.shared().timeout(Duration.ofSeconds(1)).lease(Duration.ofSeconds(5)))
                .isNotEqualTo(LockOptions.shared().timeout(Duration.ofSeconds(1)));
        assertThatThrownBy(() -> LockOptions.exclusive().lease(Duration.ofMillis(-1)))
                .isInstanceOf(IllegalArgumentException.class).hasMessage("lease must be >= 1ms, was PT-0.001S");
        assertThat(LockOptions.exclusive().lease(Duration.ofMillis(1)).lease()).hasValue(Duration.ofMillis(1));
    }
}
