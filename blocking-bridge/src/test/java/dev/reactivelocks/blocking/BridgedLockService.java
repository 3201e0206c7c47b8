package dev.reactivelocks.blocking;

import dev.reactivelocks.LockHandle;
import dev.reactivelocks.LockInfo;
import dev.reactivelocks.LockMode;
import dev.reactivelocks.LockOptions;
import dev.reactivelocks.LockService;
import dev.reactivelocks.internal.Downgrades;
import dev.reactivelocks.internal.Waiter;
import java.util.Objects;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;
import org.jspecify.annotations.Nullable;
import org.reactivestreams.Subscription;
import reactor.core.CoreSubscriber;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import reactor.core.scheduler.Schedulers;

/**
 * A {@link LockService} whose every acquisition and release goes through {@link BlockingLockService}, so
 * that the core contract suite exercises the bridge: each subscription starts a platform thread that calls
 * {@link BlockingLockService#lock(String, LockOptions)} (or {@code tryLock}); cancelling the subscription
 * interrupts that thread, so cancellation is the bridge's interrupt handling; releasing goes through
 * {@link BlockingLockHandle#release()}, on whatever thread the caller releases.
 *
 * <p>When the subscribing thread may block, the subscription waits until the worker thread waits in the
 * service's queue (or has its answer), so that waiters queue in subscription order as the contract's FIFO
 * tests require; likewise a cancellation waits until the worker has delivered or released the grant, so
 * that race tests see a settled outcome. On non-blocking threads neither waits.
 */
public final class BridgedLockService implements LockService {

    private final LockService service;
    private final BlockingLockService blocking;
    private final AtomicInteger workers = new AtomicInteger();

    /** @param service the service whose locks the bridge uses; disposed with this one */
    public BridgedLockService(LockService service) {
        this.service = service;
        this.blocking = BlockingLockService.of(service);
    }

    @FunctionalInterface
    private interface BlockingCall {
        @Nullable BlockingLockHandle call() throws InterruptedException;
    }

    @Override
    public Mono<LockHandle> acquire(String name, LockOptions options) {
        checkArguments(name, options);
        return bridged(name, () -> blocking.lock(name, options));
    }

    @Override
    public Mono<LockHandle> tryAcquire(String name, LockOptions options) {
        checkArguments(name, options);
        return bridged(name, () -> blocking.tryLock(name, options.noTimeout()).orElse(null));
    }

    /** Inspects through the bridge on a platform thread of its own (the caller may be non-blocking). */
    @Override
    public Mono<LockInfo> inspect(String name) {
        service.inspect(name); // argument errors throw at assembly
        return Mono.fromCallable(() -> blocking.inspect(name).orElse(null))
                .subscribeOn(Schedulers.boundedElastic());
    }

    /** Lists through the bridge on a platform thread of its own. */
    @Override
    public Flux<LockInfo> locks(String prefix) {
        service.locks(prefix);
        return Mono.fromCallable(() -> blocking.locks(prefix)).subscribeOn(Schedulers.boundedElastic())
                .flatMapIterable(list -> list);
    }

    private static void checkArguments(String name, LockOptions options) {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(options, "options");
        if (name.isEmpty()) {
            throw new IllegalArgumentException("name must not be empty");
        }
    }

    private Mono<LockHandle> bridged(String name, BlockingCall call) {
        return new Mono<LockHandle>() {
            @Override
            public void subscribe(CoreSubscriber<? super LockHandle> actual) {
                actual.onSubscribe(new BridgedSubscription(name, call, actual));
            }
        };
    }

    /**
     * One acquisition on its own thread. One CAS on {@link #state} decides between delivering the worker's
     * answer and the subscriber's cancel: a grant is either signalled or released, never dropped (a
     * {@code Mono.create} sink would drop a value racing a cancel).
     */
    private final class BridgedSubscription extends AtomicInteger implements Subscription {

        private static final int NEW = 0;
        private static final int WAITING = 1;
        private static final int ANSWERED = 2;
        private static final int CANCELLED = 3;

        private final String name;
        private final BlockingCall call;
        private final CoreSubscriber<? super LockHandle> actual;
        private volatile @Nullable Thread worker;

        BridgedSubscription(String name, BlockingCall call, CoreSubscriber<? super LockHandle> actual) {
            this.name = name;
            this.call = call;
            this.actual = actual;
        }

        @Override
        public void request(long n) {
            if (!compareAndSet(NEW, WAITING)) {
                return;
            }
            Thread w = new Thread(this::work, "bridged-" + name + "-" + workers.incrementAndGet());
            w.setDaemon(true);
            worker = w;
            w.start();
            if (NonBlockingThreads.nonBlockingKind() == null) {
                awaitQueuedOrAnswered(w);
            }
        }

        private void work() {
            BlockingLockHandle h;
            try {
                h = call.call();
            } catch (InterruptedException cancelled) {
                return; // the bridge left nothing queued or held
            } catch (Throwable e) {
                if (compareAndSet(WAITING, ANSWERED)) {
                    actual.onError(e);
                }
                return;
            }
            if (!compareAndSet(WAITING, ANSWERED)) {
                if (h != null) {
                    h.release(); // cancelled meanwhile: the grant is released, never leaked
                }
                return;
            }
            if (h != null) {
                actual.onNext(new BridgedHandle(h));
            }
            actual.onComplete();
        }

        @Override
        public void cancel() {
            Thread w = worker;
            if (compareAndSet(NEW, CANCELLED)) {
                return;
            }
            if (compareAndSet(WAITING, CANCELLED) && w != null) {
                w.interrupt();
            }
            // settle the outcome before cancel returns, as a synchronous service does: the worker has then
            // either signalled the grant or released it
            if (w != null && Thread.currentThread() != w && NonBlockingThreads.nonBlockingKind() == null) {
                join(w);
            }
        }
    }

    private static void join(Thread worker) {
        try {
            worker.join(TimeUnit.SECONDS.toMillis(10));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private static void awaitQueuedOrAnswered(Thread worker) {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (worker.isAlive() && !(LockSupport.getBlocker(worker) instanceof Waiter)
                && System.nanoTime() - deadline < 0) {
            LockSupport.parkNanos(20_000);
        }
    }

    @Override
    public Mono<Void> disposeLater() {
        return service.disposeLater();
    }

    @Override
    public boolean isDisposed() {
        return service.isDisposed();
    }

    @Override
    public String toString() {
        return "BridgedLockService{" + service + "}";
    }

    /** The reactive face of a blocking handle: releasing calls {@link BlockingLockHandle#release()}. */
    private static final class BridgedHandle implements LockHandle {

        private final BlockingLockHandle handle;

        BridgedHandle(BlockingLockHandle handle) {
            this.handle = handle;
        }

        @Override
        public String name() {
            return handle.name();
        }

        @Override
        public LockMode mode() {
            return handle.mode();
        }

        @Override
        public long fencingToken() {
            return handle.fencingToken();
        }

        @Override
        public boolean isHeld() {
            return handle.isHeld();
        }

        @Override
        public Mono<Void> release() {
            return Mono.fromRunnable(handle::release);
        }

        @Override
        public Mono<Void> lost() {
            return handle.handle().lost();
        }

        /** Calls {@link BlockingLockHandle#downgrade()} on the subscribing thread; a cancel releases the result. */
        @Override
        public Mono<LockHandle> downgrade() {
            return Downgrades.deliver(() -> Mono.fromCallable(() -> new BridgedHandle(handle.downgrade())));
        }
    }
}
