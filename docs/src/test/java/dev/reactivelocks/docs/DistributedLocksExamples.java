package dev.reactivelocks.docs;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.reactivelocks.LockHandle;
import dev.reactivelocks.LockOptions;
import dev.reactivelocks.LockService;
import dev.reactivelocks.distributed.DistributedLockService;
import dev.reactivelocks.distributed.InMemoryLockBackend;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import reactor.test.StepVerifier;
import reactor.test.scheduler.VirtualTimeScheduler;

/** The samples of distributed-locks.adoc, executed over the in-memory reference backend. */
class DistributedLocksExamples {

    /** A resource that accepts a write only with a fencing token at least as large as any it has seen. */
    // tag::fenced-resource[]
    static final class FencedStore {
        private long highestToken;                       // guarded by this
        private final List<String> rows = new ArrayList<>();

        synchronized void write(long fencingToken, String row) {
            if (fencingToken < highestToken) {
                throw new IllegalStateException("stale fencing token " + fencingToken + " < " + highestToken);
            }
            highestToken = fencingToken;
            rows.add(row);
        }
    }
    // end::fenced-resource[]

    @Test
    void buildAndUseALeasedLock() {
        InMemoryLockBackend backend = InMemoryLockBackend.create();
        // tag::build[]
        LockService locks = DistributedLockService.builder(backend)   // e.g. PostgresLockBackend.create(pool, config)
                .lease(Duration.ofSeconds(30))        // lost 30s after the last successful renewal
                .renewEvery(Duration.ofSeconds(10))   // renewed while held, never after release
                .build();
        // end::build[]
        FencedStore store = new FencedStore();
        // tag::with-lock[]
        Mono<String> report = locks.withLock("nightly-report",
                LockOptions.exclusive().timeout(Duration.ofSeconds(5)),   // covers the whole wait
                handle -> Mono.fromRunnable(() -> store.write(handle.fencingToken(), "report"))
                        .thenReturn("written with token " + handle.fencingToken()));
        // end::with-lock[]
        StepVerifier.create(report).expectNextMatches(s -> s.startsWith("written with token ")).verifyComplete();
        assertThat(store.rows).containsExactly("report");
        locks.dispose();
    }

    @Test
    void perCallLeasesAndOwners() {
        InMemoryLockBackend backend = InMemoryLockBackend.create();
        // tag::owner[]
        LockService locks = DistributedLockService.builder(backend)
                .owner("billing-" + System.getenv().getOrDefault("POD_NAME", "local"))  // default: host:pid
                .build();
        // end::owner[]
        // tag::per-call-lease[]
        Mono<LockHandle> quickTakeover = locks.acquire("import-batch",
                LockOptions.exclusive().lease(Duration.ofSeconds(5)));   // a dead holder blocks 5s at most
        // end::per-call-lease[]
        LockHandle h = quickTakeover.block();
        // tag::inspect[]
        Mono<String> holder = locks.inspect("import-batch")
                .map(info -> info.owners() + " until " + info.leaseExpiry().orElseThrow()
                        + " unless renewed, token " + info.fencingToken().orElseThrow());
        // end::inspect[]
        assertThat(holder.block()).startsWith("[billing-").contains(" unless renewed, token " + h.fencingToken());
        h.release().block();
        assertThat(holder.blockOptional()).isEmpty();
        locks.dispose();
    }

    @Test
    void stopWorkingWhenTheLeaseIsLost() {
        InMemoryLockBackend backend = InMemoryLockBackend.create();
        LockService locks = DistributedLockService.builder(backend)
                .lease(Duration.ofSeconds(2)).renewEvery(Duration.ofMillis(500)).build();
        Flux<Integer> batches = Flux.range(1, 3);
        // tag::lost[]
        Mono<Long> exported = locks.acquire("exporter").flatMap(handle -> batches
                .takeUntilOther(handle.lost())    // stop writing as soon as the lease is lost
                .count()
                .flatMap(n -> handle.release().thenReturn(n)));
        // end::lost[]
        StepVerifier.create(exported).expectNext(3L).verifyComplete();
        locks.dispose();
    }

    @Test
    void aStaleHolderIsFencedOff() {
        VirtualTimeScheduler clock = VirtualTimeScheduler.create();
        InMemoryLockBackend backend = InMemoryLockBackend.create(clock);
        LockService paused = DistributedLockService.builder(backend).lease(Duration.ofSeconds(30))
                .timer(clock).build();
        LockService other = DistributedLockService.builder(backend).lease(Duration.ofSeconds(30))
                .timer(clock).build();
        FencedStore store = new FencedStore();

        // tag::fencing[]
        LockHandle first = paused.acquire("ledger").block();
        paused.dispose();                                  // a long GC pause: no renewals
        clock.advanceTimeBy(Duration.ofSeconds(30));       // ... the lease expires
        LockHandle second = other.tryAcquire("ledger").block();
        store.write(second.fencingToken(), "from the new holder");

        // the paused holder wakes up and writes with its old token: the store refuses
        assertThatThrownBy(() -> store.write(first.fencingToken(), "from the old holder"))
                .hasMessageStartingWith("stale fencing token");
        // end::fencing[]
        assertThat(second.fencingToken()).isGreaterThan(first.fencingToken());
        assertThat(store.rows).containsExactly("from the new holder");
        StepVerifier.create(first.lost()).verifyComplete();
        other.dispose();
        clock.dispose();
    }
}
