package dev.reactivelocks.vertx;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowable;

import dev.reactivelocks.LockOptions;
import dev.reactivelocks.LockService;
import dev.reactivelocks.LockTimeoutException;
import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.ThreadingModel;
import io.vertx.core.Vertx;
import io.vertx.core.internal.ContextInternal;
import io.vertx.junit5.VertxExtension;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import reactor.core.publisher.Mono;
import reactor.core.scheduler.Scheduler;
import reactor.core.scheduler.Schedulers;

/** Every Future completes on the Vert.x context that called the method, whichever thread made the grant. */
@ExtendWith(VertxExtension.class)
class ContextDeliveryTest {

    private LockService core;
    private VertxLockService locks;

    @BeforeEach
    void setUp(Vertx vertx) {
        core = LockService.inProcess();
        locks = VertxLockService.create(vertx, core);
    }

    @AfterEach
    void tearDown() {
        core.dispose();
    }

    /** Where a completion handler ran. */
    record Seen(Thread thread, Context context) {
        static Seen here() {
            return new Seen(Thread.currentThread(), Vertx.currentContext());
        }
    }

    @Test
    void grantMadeByAnotherVerticlesReleaseCompletesOnTheWaitingVerticlesEventLoop(Vertx vertx) throws Exception {
        TestVerticles.Deployed holder = TestVerticles.deploy(vertx, ThreadingModel.EVENT_LOOP);
        TestVerticles.Deployed waiter = TestVerticles.deploy(vertx, ThreadingModel.EVENT_LOOP);
        assertThat(waiter.startThread()).isNotSameAs(holder.startThread());
        VertxLockHandle held = holder.on(() -> locks.acquire("orders")).await(10, TimeUnit.SECONDS);

        AtomicReference<Seen> seen = new AtomicReference<>();
        Future<VertxLockHandle> granted = waiter.on(() -> locks.acquire("orders").onSuccess(h -> seen.set(Seen.here())));
        Thread releasing = holder.on(() -> held.release().map(v -> Thread.currentThread())).await(10, TimeUnit.SECONDS);

        assertThat(granted.await(10, TimeUnit.SECONDS).isHeld()).isTrue();
        assertThat(releasing).isSameAs(holder.startThread());
        assertThat(seen.get().thread()).isSameAs(waiter.startThread());
        assertThat(seen.get().context()).isSameAs(waiter.context());
    }

    @Test
    void grantMadeOnAReactorThreadCompletesOnTheWaitingVerticlesEventLoop(Vertx vertx) throws Exception {
        TestVerticles.Deployed waiter = TestVerticles.deploy(vertx, ThreadingModel.EVENT_LOOP);
        var held = core.acquire("orders").block(Duration.ofSeconds(10));

        AtomicReference<Seen> seen = new AtomicReference<>();
        Future<VertxLockHandle> granted = waiter.on(() -> locks.acquire("orders").onSuccess(h -> seen.set(Seen.here())));
        Thread releasing = held.release().then(Mono.fromCallable(Thread::currentThread))
                .subscribeOn(Schedulers.parallel()).block(Duration.ofSeconds(10));

        assertThat(granted.await(10, TimeUnit.SECONDS).isHeld()).isTrue();
        assertThat(releasing.getName()).startsWith("parallel-");
        assertThat(seen.get().thread()).isSameAs(waiter.startThread());
        assertThat(seen.get().context()).isSameAs(waiter.context());
    }

    /**
     * Stands in for the file-lock service, whose grants come from its bounded blocking scheduler: the grant
     * is made on a bounded-elastic thread (where blocking is allowed), and the waiter still sees it on its
     * own event loop.
     */
    @Test
    void grantMadeOnABlockingSchedulerThreadCompletesOnTheWaitingVerticlesEventLoop(Vertx vertx) throws Exception {
        Scheduler fileLockThreads = Schedulers.newBoundedElastic(2, 100, "test-file-locks");
        try {
            LockService offloaded = new OffloadingLockService(core, fileLockThreads);
            VertxLockService fileLike = VertxLockService.create(vertx, offloaded);
            TestVerticles.Deployed holder = TestVerticles.deploy(vertx, ThreadingModel.EVENT_LOOP);
            TestVerticles.Deployed waiter = TestVerticles.deploy(vertx, ThreadingModel.EVENT_LOOP);
            VertxLockHandle held = holder.on(() -> fileLike.acquire("orders")).await(10, TimeUnit.SECONDS);

            AtomicReference<Thread> grantedOn = new AtomicReference<>();
            Future<Seen> seen = waiter.on(() -> fileLike.acquire("orders").map(h -> Seen.here()));
            ((OffloadingLockService) offloaded).grants.subscribe(grantedOn::set);
            holder.on(held::release).await(10, TimeUnit.SECONDS);

            assertThat(seen.await(10, TimeUnit.SECONDS).thread()).isSameAs(waiter.startThread());
            assertThat(seen.result().context()).isSameAs(waiter.context());
            assertThat(grantedOn.get().getName()).startsWith("test-file-locks");
        } finally {
            fileLockThreads.dispose();
        }
    }

    /** Takes every lock on {@code scheduler} and signals the grant there, as a blocking backend would. */
    private static final class OffloadingLockService implements LockService {
        private final LockService delegate;
        private final Scheduler scheduler;
        final reactor.core.publisher.Sinks.Many<Thread> grantThreads =
                reactor.core.publisher.Sinks.many().replay().latest();
        final reactor.core.publisher.Flux<Thread> grants = grantThreads.asFlux();

        OffloadingLockService(LockService delegate, Scheduler scheduler) {
            this.delegate = delegate;
            this.scheduler = scheduler;
        }

        @Override
        public Mono<dev.reactivelocks.LockHandle> acquire(String name, LockOptions options) {
            return delegate.acquire(name, options).subscribeOn(scheduler).publishOn(scheduler)
                    .doOnNext(h -> grantThreads.tryEmitNext(Thread.currentThread()));
        }

        @Override
        public Mono<dev.reactivelocks.LockHandle> tryAcquire(String name, LockOptions options) {
            return delegate.tryAcquire(name, options).subscribeOn(scheduler).publishOn(scheduler);
        }

        @Override
        public Mono<Void> disposeLater() {
            return delegate.disposeLater();
        }
    }

    @Test
    void workerVerticleReceivesItsGrantOnItsWorkerContext(Vertx vertx) throws Exception {
        TestVerticles.Deployed holder = TestVerticles.deploy(vertx, ThreadingModel.EVENT_LOOP);
        TestVerticles.Deployed worker = TestVerticles.deploy(vertx, ThreadingModel.WORKER);
        VertxLockHandle held = holder.on(() -> locks.acquire("orders")).await(10, TimeUnit.SECONDS);

        AtomicReference<Seen> seen = new AtomicReference<>();
        AtomicReference<Boolean> onWorker = new AtomicReference<>();
        Future<VertxLockHandle> granted = worker.on(() -> locks.acquire("orders").onSuccess(h -> {
            seen.set(Seen.here());
            onWorker.set(Context.isOnWorkerThread());
        }));
        holder.on(held::release).await(10, TimeUnit.SECONDS);

        assertThat(granted.await(10, TimeUnit.SECONDS).isHeld()).isTrue();
        assertThat(seen.get().context()).isSameAs(worker.context());
        assertThat(onWorker.get()).isTrue();
    }

    @Test
    void timeoutFailureIsDeliveredOnTheCallersContext(Vertx vertx) throws Exception {
        TestVerticles.Deployed waiter = TestVerticles.deploy(vertx, ThreadingModel.EVENT_LOOP);
        var held = core.acquire("orders").block(Duration.ofSeconds(10));

        AtomicReference<Seen> seen = new AtomicReference<>();
        Future<VertxLockHandle> timedOut = waiter.on(() -> locks
                .acquire("orders", LockOptions.exclusive().timeout(Duration.ofMillis(50)))
                .onFailure(e -> seen.set(Seen.here())));

        Throwable error = catchThrowable(() -> timedOut.await(10, TimeUnit.SECONDS));
        assertThat(error).isInstanceOf(LockTimeoutException.class)
                .hasMessage("Lock 'orders' (EXCLUSIVE) not acquired within 50ms");
        assertThat(seen.get().thread()).isSameAs(waiter.startThread());
        assertThat(seen.get().context()).isSameAs(waiter.context());
        held.release().block(Duration.ofSeconds(10));
    }

    @Test
    void releaseFutureCompletesOnTheReleasingCallersContext(Vertx vertx) throws Exception {
        TestVerticles.Deployed acquirer = TestVerticles.deploy(vertx, ThreadingModel.EVENT_LOOP);
        TestVerticles.Deployed releaser = TestVerticles.deploy(vertx, ThreadingModel.EVENT_LOOP);
        VertxLockHandle held = acquirer.on(() -> locks.acquire("orders")).await(10, TimeUnit.SECONDS);

        AtomicReference<Seen> seen = new AtomicReference<>();
        releaser.on(() -> held.release().onSuccess(v -> seen.set(Seen.here()))).await(10, TimeUnit.SECONDS);

        assertThat(seen.get().context()).isSameAs(releaser.context());
        assertThat(held.isHeld()).isFalse();
    }

    @Test
    void acquireFromAThreadOutsideVertxCompletesOnAVertxEventLoop(Vertx vertx) throws Exception {
        var held = core.acquire("orders").block(Duration.ofSeconds(10));
        // the Future is complete as soon as the grant is made; its handlers run later, on the context
        Future<Seen> seen = locks.acquire("orders").map(h -> Seen.here());

        held.release().block(Duration.ofSeconds(10));

        Context context = seen.await(10, TimeUnit.SECONDS).context();
        assertThat(context).isNotNull();
        assertThat(context.isEventLoopContext()).isTrue();
        assertThat(context.owner()).isSameAs(vertx);
    }

    @Test
    void withLockFromAThreadOutsideVertxRunsTheBodyAndCompletesOnOneContext(Vertx vertx) throws Exception {
        var held = core.acquire("orders").block(Duration.ofSeconds(10));
        AtomicReference<Seen> body = new AtomicReference<>();
        Future<Seen> done = locks.withLock("orders", () -> {
            body.set(Seen.here());
            return Future.succeededFuture();
        }).map(v -> Seen.here());

        held.release().block(Duration.ofSeconds(10));

        Seen completed = done.await(10, TimeUnit.SECONDS);
        // the body's context is a duplicate of the caller's, the one the returned Future completes on
        assertThat(((ContextInternal) body.get().context()).unwrap())
                .isSameAs(((ContextInternal) completed.context()).unwrap());
        assertThat(body.get().thread()).isSameAs(completed.thread());
    }

    @Test
    void grantOnADuplicatedContextCompletesOnThatDuplicateAndUndeployStillReleases(Vertx vertx) throws Exception {
        // Vert.x runs HTTP request handlers on duplicates of the verticle's context
        TestVerticles.Deployed holder = TestVerticles.deploy(vertx, ThreadingModel.EVENT_LOOP);
        TestVerticles.Deployed verticle = TestVerticles.deploy(vertx, ThreadingModel.EVENT_LOOP);
        ContextInternal duplicate = ((ContextInternal) verticle.context()).duplicate();
        VertxLockHandle held = holder.on(() -> locks.acquire("orders")).await(10, TimeUnit.SECONDS);

        Future<Seen> seen = TestVerticles.on(duplicate, () -> locks.acquire("orders").map(h -> Seen.here()));
        holder.on(held::release).await(10, TimeUnit.SECONDS);

        assertThat(seen.await(10, TimeUnit.SECONDS).context()).isSameAs(duplicate);
        assertThat(seen.result().thread()).isSameAs(verticle.startThread());
        verticle.undeploy().await(10, TimeUnit.SECONDS);
        assertThat(((dev.reactivelocks.InProcessLockService) core).size()).isZero();
    }

    @Test
    void immediateGrantOnAnEventLoopIsAlreadyCompleteWhenReturned(Vertx vertx) throws Exception {
        TestVerticles.Deployed verticle = TestVerticles.deploy(vertx, ThreadingModel.EVENT_LOOP);

        Boolean complete = verticle.on(() -> {
            Future<VertxLockHandle> f = locks.acquire("orders");
            return Future.succeededFuture(f.succeeded());
        }).await(10, TimeUnit.SECONDS);

        assertThat(complete).isTrue();
    }
}
