package dev.reactivelocks.vertx;

import dev.reactivelocks.LockHandle;
import dev.reactivelocks.LockInfo;
import dev.reactivelocks.LockMode;
import dev.reactivelocks.LockOptions;
import dev.reactivelocks.LockService;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.internal.CloseFuture;
import io.vertx.core.internal.ContextInternal;
import io.vertx.core.internal.VertxInternal;
import java.util.function.Supplier;
import org.jspecify.annotations.Nullable;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import reactor.core.publisher.MonoSink;

/**
 * A {@link LockService} whose every acquisition goes through a {@link VertxLockService}, so that the core
 * contract suite runs against the adapter: each subscription calls the adapter on a context of its own, whose
 * close stands in for a Vert.x-side cancel (an undeployed verticle). Cancelling the subscription closes that
 * context, exactly as undeploying the acquiring verticle would.
 *
 * <p>Re-entry detection of the Reactor {@code withLock} is not bridged: it lives in the Reactor {@code Context},
 * which the Vert.x side does not see.
 */
public final class FutureBridgeLockService implements LockService {

    private final VertxInternal vertx;
    private final LockService core;
    private final VertxLockService adapter;

    /**
     * @param vertx the Vert.x instance to acquire on
     * @param core the service the adapter wraps
     */
    public FutureBridgeLockService(Vertx vertx, LockService core) {
        this.vertx = (VertxInternal) vertx;
        this.core = core;
        this.adapter = VertxLockService.create(vertx, core);
    }

    @Override
    public Mono<LockHandle> acquire(String name, LockOptions options) {
        core.acquire(name, options); // argument errors throw at assembly, as the contract requires
        return Mono.create(sink -> start(sink, () -> adapter.acquire(name, options)));
    }

    @Override
    public Mono<LockHandle> tryAcquire(String name, LockOptions options) {
        core.tryAcquire(name, options);
        return Mono.create(sink -> start(sink, () -> adapter.tryAcquire(name, options)));
    }

    @Override
    public Mono<LockInfo> inspect(String name) {
        core.inspect(name); // argument errors throw at assembly
        return Mono.fromCompletionStage(() -> adapter.inspect(name).toCompletionStage());
    }

    @Override
    public Flux<LockInfo> locks(String prefix) {
        core.locks(prefix);
        return Mono.fromCompletionStage(() -> adapter.locks(prefix).toCompletionStage()).flatMapIterable(list -> list);
    }

    private void start(MonoSink<LockHandle> sink, Supplier<Future<@Nullable VertxLockHandle>> call) {
        CloseFuture scope = new CloseFuture();
        ContextInternal context = vertx.contextBuilder().withCloseFuture(scope).build();
        sink.onCancel(scope::close);
        @SuppressWarnings("unchecked")
        Future<@Nullable VertxLockHandle>[] future = new Future[1];
        context.dispatch(v -> future[0] = call.get()); // on this thread, with the context current
        future[0].onComplete((handle, error) -> {
            if (error != null) {
                scope.close();
                sink.error(error);
            } else if (handle == null) {
                scope.close();
                sink.success();
            } else {
                sink.success(new BridgedHandle(handle, scope));
            }
        });
    }

    /** @return the adapter under test */
    public VertxLockService adapter() {
        return adapter;
    }

    @Override
    public Mono<Void> disposeLater() {
        return core.disposeLater();
    }

    @Override
    public boolean isDisposed() {
        return core.isDisposed();
    }

    private record BridgedHandle(VertxLockHandle handle, CloseFuture scope) implements LockHandle {

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
            return Mono.defer(() -> Mono.fromCompletionStage(handle.release().toCompletionStage()))
                    .then(Mono.fromRunnable(scope::close));
        }

        @Override
        public Mono<Void> lost() {
            return Mono.defer(() -> Mono.fromCompletionStage(handle.lost().toCompletionStage()));
        }

        /** A cancel closes the scope, which releases the shared grant (and this one) like an undeployment. */
        @Override
        public Mono<LockHandle> downgrade() {
            return Mono.create(sink -> {
                sink.onCancel(scope::close);
                handle.downgrade().onComplete((shared, error) -> {
                    if (error != null) {
                        sink.error(error);
                    } else {
                        sink.success(new BridgedHandle(shared, scope));
                    }
                });
            });
        }
    }
}
