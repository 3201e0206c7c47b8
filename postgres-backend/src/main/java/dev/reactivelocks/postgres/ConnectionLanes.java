package dev.reactivelocks.postgres;

import io.r2dbc.spi.Connection;
import io.r2dbc.spi.ConnectionFactory;
import java.util.Queue;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Function;
import org.jspecify.annotations.Nullable;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import reactor.core.publisher.MonoSink;

/**
 * Runs a backend's operations on at most {@code max} connections of the factory at once, whatever the
 * number of callers, and reuses a connection for the operations that queued meanwhile: a factory that
 * opens a connection per call (not a pool) then costs one connection per burst, not one per operation,
 * and the server never sees more than {@code max} connections of the backend.
 *
 * <pre>
 *  run(work) ─► queue (FIFO) ─► drain: fewer than max lanes open? open one
 *  lane: create a connection ─► take the next queued operation, run it, repeat ─► queue empty: close, lane ends
 *        connection failed before any operation ran: the next queued operation fails with that error
 *        an operation failed: its caller gets the error, the lane closes its connection and ends
 *  lane ends ─► drain again (an operation queued while the lane was closing is never stranded)
 * </pre>
 *
 * A caller that cancels while its operation is queued is skipped; once the operation runs it finishes on
 * its connection (so the connection is never left mid-statement) and its outcome is dropped, as a
 * cancelled call's outcome was before: the service treats a call it gave up on as of unknown outcome.
 */
final class ConnectionLanes {

    private final ConnectionFactory factory;
    private final int max;
    private final Queue<Task<?>> queue = new ConcurrentLinkedQueue<>();
    private final AtomicInteger open = new AtomicInteger();

    ConnectionLanes(ConnectionFactory factory, int max) {
        this.factory = factory;
        this.max = max;
    }

    /** @return a cold {@code Mono} running {@code work} on a lane's connection, once per subscription */
    <T> Mono<T> run(Function<Connection, Mono<T>> work) {
        return Mono.create(sink -> {
            Task<T> task = new Task<>(work, sink);
            sink.onCancel(task::cancel);
            queue.add(task);
            drain();
        });
    }

    private void drain() {
        for (;;) {
            int n = open.get();
            if (n >= max || queue.isEmpty()) {
                return;
            }
            if (open.compareAndSet(n, n + 1)) {
                lane();
            }
        }
    }

    private void lane() {
        AtomicBoolean connected = new AtomicBoolean();
        Mono.usingWhen(factory.create(), c -> {
                            connected.set(true);
                            return serve(c);
                        },
                        ConnectionLanes::close, (c, error) -> close(c), ConnectionLanes::close)
                .subscribe(null, error -> {
                    if (!connected.get()) {
                        Task<?> next = poll();
                        if (next != null) {
                            next.sink.error(error);
                        }
                    }
                    laneEnded();
                }, this::laneEnded);
    }

    /** Runs the queued operations one after the other on {@code c} until the queue is empty. */
    private Mono<Void> serve(Connection c) {
        return Flux.<Task<?>>generate(sink -> {
                    Task<?> next = poll();
                    if (next == null) {
                        sink.complete();
                    } else {
                        sink.next(next);
                    }
                })
                .concatMap(task -> task.runOn(c), 0)
                .then();
    }

    private void laneEnded() {
        open.decrementAndGet();
        drain();
    }

    /** @return the next operation that was not cancelled, now running, or null */
    private @Nullable Task<?> poll() {
        for (;;) {
            Task<?> next = queue.poll();
            if (next == null || next.start()) {
                return next;
            }
        }
    }

    private static Mono<Void> close(Connection c) {
        return Mono.from(c.close()).onErrorResume(e -> Mono.empty());
    }

    /** One queued operation: QUEUED, then RUNNING or CANCELLED, decided by one CAS. */
    private static final class Task<T> {
        private final Function<Connection, Mono<T>> work;
        final MonoSink<T> sink;
        private final AtomicInteger state = new AtomicInteger(); // 0 queued, 1 running, 2 cancelled

        Task(Function<Connection, Mono<T>> work, MonoSink<T> sink) {
            this.work = work;
            this.sink = sink;
        }

        boolean start() {
            return state.compareAndSet(0, 1);
        }

        void cancel() {
            state.compareAndSet(0, 2);
        }

        Mono<Void> runOn(Connection c) {
            return Mono.defer(() -> work.apply(c))
                    .doOnNext(sink::success)
                    .doOnError(sink::error)
                    .doOnSuccess(value -> {
                        if (value == null) {
                            sink.success();
                        }
                    })
                    .then();
        }
    }
}
