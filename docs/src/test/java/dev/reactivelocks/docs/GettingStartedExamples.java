package dev.reactivelocks.docs;

import static org.assertj.core.api.Assertions.assertThat;

import dev.reactivelocks.LockHandle;
import dev.reactivelocks.LockOptions;
import dev.reactivelocks.LockService;
import dev.reactivelocks.LockTimeoutException;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Function;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import reactor.core.scheduler.Schedulers;
import reactor.test.StepVerifier;

/** The samples of getting-started.adoc and locking.adoc, executed. */
class GettingStartedExamples {

    private final LockService locks = LockService.inProcess();

    @AfterEach
    void dispose() {
        locks.dispose();
    }

    /** A repository whose read-modify-write is not atomic, like most remote stores. */
    static final class StockRepository {
        private final Map<String, Integer> stock = new ConcurrentHashMap<>(Map.of("apple", 100));

        Mono<Integer> find(String item) {
            return Mono.fromCallable(() -> stock.get(item)).publishOn(Schedulers.parallel());
        }

        Mono<Integer> save(String item, int quantity) {
            return Mono.fromCallable(() -> {
                stock.put(item, quantity);
                return quantity;
            }).publishOn(Schedulers.parallel());
        }
    }

    private final StockRepository repository = new StockRepository();

    // tag::with-lock[]
    Mono<Integer> reserve(String item, int quantity) {
        return locks.withLock("stock-" + item,                  // one lock per item
                repository.find(item)                            // subscribed only once the lock is held
                        .map(available -> available - quantity)
                        .flatMap(left -> repository.save(item, left)));
    }                                                            // released on complete, error or cancel
    // end::with-lock[]

    @Test
    void withLockKeepsReadModifyWriteAtomic() {
        Flux.range(0, 100).flatMap(i -> reserve("apple", 1)).blockLast(Duration.ofSeconds(10));
        assertThat(repository.find("apple").block()).isZero();
    }

    // tag::acquire-release[]
    Mono<Void> nightlyReport(Function<Long, Mono<Void>> report) {
        return locks.acquire("nightly-report", LockOptions.exclusive().timeout(Duration.ofSeconds(5)))
                .flatMap(handle -> report.apply(handle.fencingToken())
                        .onErrorResume(e -> handle.release().then(Mono.error(e)))  // release on failure too:
                        .then(handle.release()));                                   // the handle is yours
    }
    // end::acquire-release[]

    @Test
    void acquireAndRelease() {
        AtomicLong seenToken = new AtomicLong();
        nightlyReport(token -> Mono.fromRunnable(() -> seenToken.set(token))).block(Duration.ofSeconds(5));
        assertThat(seenToken.get()).isPositive();
        assertThat(locks.tryAcquire("nightly-report").block()).isNotNull();
    }

    @Test
    void acquireAndReleaseByHandReleasesWhenTheWorkFails() {
        StepVerifier.create(nightlyReport(token -> Mono.error(new IllegalStateException("report failed"))))
                .expectErrorMessage("report failed")
                .verify(Duration.ofSeconds(5));
        LockHandle next = locks.tryAcquire("nightly-report").block(Duration.ofSeconds(5));
        assertThat(next).as("released after the failed report").isNotNull();
        next.release().block(Duration.ofSeconds(5));
    }

    @Test
    void sharedReadersExclusiveWriter() {
        // tag::shared-exclusive[]
        Mono<String> read = locks.withLock("config", LockOptions.shared(), Mono.fromCallable(() -> "value"));
        Mono<Void> write = locks.withLock("config", LockOptions.exclusive(), Mono.fromRunnable(() -> { }));
        // any number of reads overlap; a write waits for them and holds the lock alone;
        // a waiting write is served before reads that arrive after it (no writer starvation)
        // end::shared-exclusive[]
        StepVerifier.create(Flux.merge(read, read, write.then(Mono.just("written"))))
                .expectNextCount(3).verifyComplete();
    }

    @Test
    void timeoutAndTryAcquire() {
        LockHandle holder = locks.acquire("payments").block();
        // tag::timeout[]
        Mono<String> guarded = locks.withLock("payments",
                        LockOptions.exclusive().timeout(Duration.ofMillis(250)),
                        Mono.just("charged"))
                .onErrorResume(LockTimeoutException.class,       // "Lock 'payments' (EXCLUSIVE) not acquired within 250ms"
                        e -> Mono.just("busy, try later"));
        // end::timeout[]
        assertThat(guarded.block(Duration.ofSeconds(5))).isEqualTo("busy, try later");

        // tag::try-acquire[]
        Mono<String> ifFree = locks.tryAcquire("payments")       // empty when busy; never queues
                .flatMap(h -> h.release().thenReturn("ran"))
                .defaultIfEmpty("skipped");
        // end::try-acquire[]
        assertThat(ifFree.block()).isEqualTo("skipped");
        holder.release().block();
        assertThat(ifFree.block()).isEqualTo("ran");
    }

    @Test
    void cancellationReleases() {
        // tag::cancel[]
        Mono<Void> slow = locks.withLock("import", Mono.delay(Duration.ofHours(1)).then());
        slow.timeout(Duration.ofMillis(50))                      // cancels the body: the lock is released
                .onErrorResume(e -> Mono.empty())
                .block();
        // end::cancel[]
        assertThat(locks.tryAcquire("import").block()).isNotNull();
    }

    @Test
    void discardedHandlesAreReleasedByTheDiscardHook() {
        Mono<String> failingLookup = Mono.delay(Duration.ofMillis(20))
                .then(Mono.error(new IllegalStateException("lookup failed")));
        // tag::discard[]
        Mono.zip(locks.acquire("report"), failingLookup)            // zip keeps the handle, then discards it
                .doOnDiscard(LockHandle.class, h -> h.release().subscribe())
                .onErrorResume(e -> Mono.empty())
                .block();
        // end::discard[]
        assertThat(locks.tryAcquire("report").block()).as("the discarded handle was released").isNotNull();
    }

    @Test
    void semaphore() {
        // tag::permits[]
        Flux<String> calls = Flux.range(0, 20).flatMap(i ->
                locks.withLock("partner-api", LockOptions.permits(4),   // at most 4 calls in flight
                        Mono.fromCallable(() -> "response " + i).delayElement(Duration.ofMillis(5))));
        // end::permits[]
        assertThat(calls.collectList().block(Duration.ofSeconds(10))).hasSize(20);
    }

    @Test
    void downgrade() {
        List<String> published = new java.util.concurrent.CopyOnWriteArrayList<>();
        // tag::downgrade[]
        Mono<String> report = locks.withLock("report", LockOptions.exclusive(), exclusive ->
                Mono.fromRunnable(() -> published.add("written with token " + exclusive.fencingToken()))
                        .then(exclusive.downgrade())            // readers may join now, no writer in between
                        .map(shared -> "read back with token " + shared.fencingToken()));
        // end::downgrade[]
        assertThat(report.block(Duration.ofSeconds(10))).startsWith("read back with token ");
        assertThat(published).hasSize(1);
        LockHandle free = locks.tryAcquire("report").block(Duration.ofSeconds(10)); // the scope released it
        assertThat(free).isNotNull();
        free.release().block();
    }

    @Test
    void prefixes() {
        // tag::prefix[]
        LockService nova = locks.withPrefix("nova");             // oslo: synchronized_with_prefix('nova-')
        Mono<String> r = nova.withLock("instance-42", Mono.just("done"));   // lock name "nova-instance-42"
        // end::prefix[]
        assertThat(r.block()).isEqualTo("done");
    }

    @Test
    void whoHoldsThisLock() {
        LockHandle order = locks.acquire("orders").block();
        LockHandle reader = locks.acquire("report", LockOptions.shared()).block();
        // tag::inspect[]
        Mono<String> who = locks.inspect("orders")
                .map(info -> info.mode() + " by " + info.holders() + " holder(s), token "
                        + info.fencingToken().orElse(-1) + ", " + info.waiting().orElse(0) + " waiting")
                .defaultIfEmpty("free");                              // nobody holds it: empty
        Flux<String> held = locks.locks("")                            // every held lock ("" = any name)
                .map(info -> info.name() + " " + info.mode());
        // end::inspect[]
        assertThat(who.block()).isEqualTo("EXCLUSIVE by 1 holder(s), token " + order.fencingToken() + ", 0 waiting");
        assertThat(held.collectList().block()).containsExactlyInAnyOrder("orders EXCLUSIVE", "report SHARED");
        order.release().then(reader.release()).block();
        assertThat(who.block()).isEqualTo("free");
    }

    @Test
    void fencingTokens() {
        List<Long> accepted = new java.util.concurrent.CopyOnWriteArrayList<>();
        AtomicLong highest = new AtomicLong();
        // tag::fencing[]
        // the guarded resource remembers the highest token it has seen and rejects older ones
        Mono<Boolean> write = locks.withLock("ledger", LockOptions.exclusive(), handle ->
                Mono.fromCallable(() -> {
                    long token = handle.fencingToken();
                    if (highest.getAndAccumulate(token, Math::max) > token) {
                        return false;                            // a newer holder already wrote: refuse
                    }
                    accepted.add(token);
                    return true;
                }));
        // end::fencing[]
        assertThat(Flux.range(0, 5).concatMap(i -> write).collectList().block()).containsOnly(true);
        assertThat(accepted).isSorted().hasSize(5);
    }
}
