package dev.reactivelocks.distributed;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.reactivelocks.LockHandle;
import dev.reactivelocks.LockInfo;
import dev.reactivelocks.LockMode;
import dev.reactivelocks.LockOptions;
import dev.reactivelocks.internal.Owners;
import dev.reactivelocks.spi.LockBackend;
import dev.reactivelocks.spi.StoredLock;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import reactor.test.StepVerifier;

/** Owners written with leases, inspection through the SPI, and per-call leases in the reference backend. */
class DistributedInspectionTest {

    private static final Duration WAIT = Duration.ofSeconds(10);

    @Test
    void theOwnerTravelsInTheTokenTheStoreKeeps() {
        InMemoryLockBackend backend = InMemoryLockBackend.create();
        DistributedLockService named = DistributedLockService.builder(backend).owner("pod-7 (eu-west)").build();
        DistributedLockService unnamed = DistributedLockService.builder(backend).build();
        assertThat(unnamed.owner()).isEqualTo(Owners.thisProcess()).matches(".+:" + ProcessHandle.current().pid());
        LockHandle a = named.acquire("o", LockOptions.shared()).block(WAIT);
        LockHandle b = unnamed.acquire("o", LockOptions.shared()).block(WAIT);
        StoredLock stored = backend.inspect("o").block(WAIT);
        assertThat(stored.leases()).extracting(l -> l.token().substring(0, l.token().lastIndexOf('/')))
                .containsExactlyInAnyOrder("pod-7 (eu-west)", Owners.thisProcess());
        assertThat(named.inspect("o").block(WAIT).owners())
                .containsExactlyInAnyOrder("pod-7 (eu-west)", Owners.thisProcess());
        a.release().block(WAIT);
        b.release().block(WAIT);
        named.dispose();
        unnamed.dispose();
    }

    @Test
    void ownersAreCheckedWhenConfigured() {
        DistributedLockServiceBuilder builder = DistributedLockService.builder(InMemoryLockBackend.create());
        assertThatThrownBy(() -> builder.owner("")).isInstanceOf(IllegalArgumentException.class)
                .hasMessage("owner must be 1 to 200 printable ASCII characters, was ''");
        assertThatThrownBy(() -> builder.owner("h\u00f6st:1")).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> builder.owner("a\nb")).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> builder.owner("x".repeat(201))).isInstanceOf(IllegalArgumentException.class);
        // owner tokens start with the owner, and backends tell a hand-off signal from a token by its first '='
        assertThatThrownBy(() -> builder.owner("=ops")).isInstanceOf(IllegalArgumentException.class)
                .hasMessage("owner must not start with '=' (it marks hand-off signals), was '=ops'");
        assertThat(builder.owner("ops=1").build().owner()).isEqualTo("ops=1");
        assertThat(builder.owner("x".repeat(200)).build().owner()).hasSize(200);
    }

    @Test
    void aPerCallLeaseIsStoredAndRenewedAtTheServicesRatio() {
        InMemoryLockBackend backend = InMemoryLockBackend.create();
        DistributedLockService service = DistributedLockService.builder(backend)
                .lease(Duration.ofSeconds(30)).renewEvery(Duration.ofSeconds(10)).build();
        assertThat(service.renewEvery(Duration.ofSeconds(30))).isEqualTo(Duration.ofSeconds(10));
        assertThat(service.renewEvery(Duration.ofSeconds(3))).isEqualTo(Duration.ofSeconds(1));
        assertThat(service.renewEvery(Duration.ofHours(3))).isEqualTo(Duration.ofHours(1));
        long before = System.currentTimeMillis();
        LockHandle h = service.acquire("leased", LockOptions.exclusive().lease(Duration.ofHours(3))).block(WAIT);
        LockInfo info = service.inspect("leased").block(WAIT);
        assertThat(info.leaseExpiry()).hasValueSatisfying(t -> assertThat(t.toEpochMilli())
                .isBetween(before + Duration.ofHours(3).toMillis() - 1000, System.currentTimeMillis()
                        + Duration.ofHours(3).toMillis() + 1000));
        assertThat(info.mode()).isEqualTo(LockMode.EXCLUSIVE);
        h.release().block(WAIT);
        service.dispose();
    }

    /** A backend written before inspection existed (this wrapper forwards locking only). */
    @Test
    void backendsWithoutInspectionReportItAsUnsupported() {
        LockBackend legacy = new FaultyBackend(InMemoryLockBackend.create());
        DistributedLockService service = DistributedLockService.builder(legacy).build();
        LockHandle h = service.acquire("legacy").block(WAIT);
        StepVerifier.create(service.inspect("legacy"))
                .expectErrorSatisfies(e -> assertThat(e).isInstanceOf(UnsupportedOperationException.class)
                        .hasMessageContaining("does not support inspection (LockBackend.locks)"))
                .verify(WAIT);
        StepVerifier.create(service.locks(""))
                .expectError(UnsupportedOperationException.class)
                .verify(WAIT);
        h.release().block(WAIT);
        service.dispose();
    }
}
