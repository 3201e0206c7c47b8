package dev.reactivelocks.micrometer;

import dev.reactivelocks.LockHandle;
import dev.reactivelocks.LockOptions;
import dev.reactivelocks.LockService;
import dev.reactivelocks.spi.ForwardingLockService;
import io.micrometer.core.instrument.Clock;
import io.micrometer.core.instrument.Meter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tags;
import java.util.Objects;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Function;
import org.jspecify.annotations.Nullable;
import org.reactivestreams.Publisher;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import reactor.util.context.Context;

/**
 * A {@link LockService} that records Micrometer metrics for every acquisition made through it and
 * delegates the locking itself to another service (any implementation: in-process, file, distributed). A
 * {@link ForwardingLockService}: inspection ({@code inspect}, {@code locks}) is forwarded and not metered.
 *
 * <pre>{@code
 * LockService locks = MeteredLockService.builder(LockService.inProcess(), registry)
 *         .serviceName("orders")
 *         .build();
 * locks.withLock("order-42", save(order));   // timed, gauged and counted
 * }</pre>
 *
 * <p><b>Meters</b> (names in {@link LockMeters}; all tagged {@code service}, most also {@code mode}):
 * <ul>
 *   <li>{@code reactivelocks.wait} (timer): subscription request to grant, for granted acquisitions;</li>
 *   <li>{@code reactivelocks.hold} (timer): grant to release, once per grant;</li>
 *   <li>{@code reactivelocks.pending} (gauge, acquisitions): requested, not yet granted or ended;</li>
 *   <li>{@code reactivelocks.held} (gauge, locks): granted, not yet released;</li>
 *   <li>{@code reactivelocks.timeouts}, {@code reactivelocks.cancels} (cancelled before the grant),
 *       {@code reactivelocks.rejections} ({@link dev.reactivelocks.LockUnavailableException}),
 *       {@code reactivelocks.errors} (any other error, tagged {@code exception}) and
 *       {@code reactivelocks.busy} ({@code tryAcquire} found the lock busy) (counters, acquisitions).</li>
 * </ul>
 * The gauges count only acquisitions made through this decorator, not those made on the delegate directly.
 * Tagging by lock name is off by default because lock names may be unbounded (one per order, per user…):
 * every distinct name then creates meters that live until the service is disposed. Histograms and
 * percentiles are not enabled here; configure them with a {@code MeterFilter} on the registry.
 *
 * <p><b>Reentrancy</b>: as the delegate's. {@code withLock} and {@code withLockMany} run the delegate's own
 * scope, so an acquisition of the same lock inside the body, through this decorator or through the delegate,
 * fails with {@link dev.reactivelocks.IllegalLockStateException}, whatever the delegate is (a prefixed view,
 * another decorator). Views stacked on top of this decorator ({@link #withPrefix(String)},
 * {@link #warnIfHeldLongerThan(java.time.Duration)}) share that detection too.
 *
 * <p><b>Fairness</b> and <b>Memory effects</b>: as the delegate's; the decorator adds no queue.
 *
 * <p><b>Cancellation</b>: as the delegate's. A grant that reaches this decorator after its subscriber
 * cancelled is released here and not counted as a grant.
 *
 * <p><b>Scopes</b>: in {@code withLock}/{@code withLockMany} the hold is measured until the scope ends
 * (complete, error or cancel), also when the body released its handle earlier.
 *
 * <p><b>Threading</b>: thread-safe; nothing blocks. Signals are relayed on the delegate's threads. Timings
 * use the registry's {@link Clock}.
 *
 * <p><b>Lifecycle</b>: {@link #withPrefix(String)} views are metered too (they acquire through this
 * decorator). Disposing disposes the delegate and then removes this service's gauges from the registry, and
 * none is registered afterwards (with lock-name tags, an acquisition of a new name after the disposal fails
 * and is counted without gauges); timers and counters stay. Two live services must not share a {@code serviceName} in one registry; building
 * the second fails when the first has registered gauges.
 */
public final class MeteredLockService extends ForwardingLockService {

    private final MeterRegistry registry;
    private final Clock clock;
    private final String serviceName;
    private final Tags tags;
    private final boolean lockNameTag;
    private final @Nullable LockMeterSet serviceMeters;
    private final ConcurrentHashMap<String, LockMeterSet> lockMeters = new ConcurrentHashMap<>();
    private final AtomicBoolean gaugesRemoved = new AtomicBoolean();
    /** Context key of the running scope's {@link MeteredScope}; one per decorator, so stacked ones differ. */
    private final Object scopeKey = new Object();

    MeteredLockService(LockService delegate, MeterRegistry registry, String serviceName, Tags extraTags,
                       boolean lockNameTag) {
        super(delegate);
        this.registry = registry;
        this.clock = registry.config().clock();
        this.serviceName = serviceName;
        this.tags = Tags.of(LockMeters.TAG_SERVICE, serviceName).and(extraTags);
        this.lockNameTag = lockNameTag;
        if (!registry.find(LockMeters.PENDING).tag(LockMeters.TAG_SERVICE, serviceName).gauges().isEmpty()) {
            throw new IllegalStateException("Lock service '" + serviceName + "' is already metered in this "
                    + "registry; give each instrumented service its own serviceName, or dispose the previous one");
        }
        this.serviceMeters = lockNameTag ? null : new LockMeterSet(registry, tags);
    }

    /**
     * @param delegate the service that does the locking
     * @param registry where the meters are registered
     * @return a builder for a metered view of {@code delegate}
     */
    public static MeteredLockServiceBuilder builder(LockService delegate, MeterRegistry registry) {
        return new MeteredLockServiceBuilder(delegate, registry);
    }

    /**
     * A metered view of {@code delegate} with the default options: no lock-name tag, no extra tags.
     *
     * @param delegate the service that does the locking
     * @param registry where the meters are registered
     * @param serviceName the value of the {@code service} tag, not empty
     * @return the metered service
     * @throws IllegalStateException if a live service of that name is already metered in {@code registry}
     */
    public static MeteredLockService of(LockService delegate, MeterRegistry registry, String serviceName) {
        return builder(delegate, registry).serviceName(serviceName).build();
    }

    /** @return the value of the {@code service} tag */
    public String serviceName() {
        return serviceName;
    }

    LockMeterSet meters(String name) {
        LockMeterSet set = serviceMeters;
        if (set != null) {
            return set;
        }
        set = lockMeters.computeIfAbsent(name, n -> new LockMeterSet(registry, tags.and(LockMeters.TAG_LOCK, n)));
        if (gaugesRemoved.get()) {
            // Disposed: no gauge may outlive it. Either removeGauges() saw this set in the map, or this check
            // sees its flag (each writes before it reads).
            remove(set);
        }
        return set;
    }

    Clock clock() {
        return clock;
    }

    /**
     * {@inheritDoc}
     *
     * <p>Metered: the wait is timed from the first request to the grant, and the handle's first release
     * records the hold time.
     */
    @Override
    public Mono<LockHandle> acquire(String name, LockOptions options) {
        Mono<LockHandle> source = delegate().acquire(name, options);
        return new MeteredAcquireMono(source, this, name, options.mode(), false);
    }

    /**
     * {@inheritDoc}
     *
     * <p>Metered like {@link #acquire(String, LockOptions)}; an empty result counts as busy.
     */
    @Override
    public Mono<LockHandle> tryAcquire(String name, LockOptions options) {
        Mono<LockHandle> source = delegate().tryAcquire(name, options);
        return new MeteredAcquireMono(source, this, name, options.mode(), true);
    }

    /**
     * {@inheritDoc}
     *
     * <p>Delegates the scope to the delegate's own {@code withLock} (so its re-entry detection and any scope
     * behaviour of its own apply unchanged) and meters it from outside: the wait ends when the body is
     * subscribed, the hold when the scope ends. The body receives the delegate's handle.
     */
    @Override
    public <T> Mono<T> withLock(String name, LockOptions options,
                                Function<? super LockHandle, ? extends Mono<T>> body) {
        Objects.requireNonNull(body, "body");
        Objects.requireNonNull(options, "options");
        // Assembled once, so that the delegate checks the arguments now; each subscription finds its scope
        // in the Context.
        Mono<T> scoped = delegate().withLock(name, options, handle -> Mono.deferContextual(ctx -> {
            ctx.<MeteredScope>get(scopeKey).granted();
            return Objects.requireNonNull(body.apply(handle), "The body returned a null Mono");
        }));
        return Mono.defer(() -> {
            MeteredScope scope = new MeteredScope(this, name, options.mode());
            scope.start();
            return scoped
                    .doOnSuccess(v -> scope.end(null, false))
                    .doOnError(e -> scope.end(e, false))
                    .doOnCancel(() -> scope.end(null, true))
                    .contextWrite(Context.of(scopeKey, scope));
        });
    }

    /**
     * {@inheritDoc}
     *
     * <p>Metered like {@link #withLock(String, LockOptions, Function)}.
     */
    @Override
    public <T> Flux<T> withLockMany(String name, LockOptions options,
                                    Function<? super LockHandle, ? extends Publisher<T>> body) {
        Objects.requireNonNull(body, "body");
        Objects.requireNonNull(options, "options");
        Flux<T> scoped = delegate().withLockMany(name, options, handle -> Flux.deferContextual(ctx -> {
            ctx.<MeteredScope>get(scopeKey).granted();
            return Objects.requireNonNull(body.apply(handle), "The body returned a null Publisher");
        }));
        return Flux.defer(() -> {
            MeteredScope scope = new MeteredScope(this, name, options.mode());
            scope.start();
            return scoped
                    .doOnComplete(() -> scope.end(null, false))
                    .doOnError(e -> scope.end(e, false))
                    .doOnCancel(() -> scope.end(null, true))
                    .contextWrite(Context.of(scopeKey, scope));
        });
    }

    /**
     * Disposes the delegate, then removes this service's gauges from the registry.
     *
     * @return a {@code Mono} completing when the delegate is closed
     */
    @Override
    public Mono<Void> disposeLater() {
        return delegate().disposeLater().then(Mono.fromRunnable(this::removeGauges));
    }

    private void removeGauges() {
        if (!gaugesRemoved.compareAndSet(false, true)) {
            return;
        }
        LockMeterSet set = serviceMeters;
        if (set != null) {
            remove(set);
        }
        lockMeters.values().forEach(this::remove);
    }

    private void remove(LockMeterSet set) {
        for (Meter gauge : new Meter[] {set.pendingGauge, set.heldGauge}) {
            registry.remove(gauge);
        }
    }

    @Override
    public String toString() {
        return "MeteredLockService{service='" + serviceName + "', lockNameTag=" + lockNameTag + ", delegate="
                + delegate() + "}";
    }
}
