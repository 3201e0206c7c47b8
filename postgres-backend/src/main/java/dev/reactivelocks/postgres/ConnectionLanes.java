package dev.reactivelocks.postgres;

import io.r2dbc.spi.Connection;
import io.r2dbc.spi.ConnectionFactory;
import io.r2dbc.spi.ValidationDepth;
import java.time.Duration;
import java.util.Objects;
import java.util.Queue;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Function;
import org.jspecify.annotations.Nullable;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import reactor.core.publisher.MonoSink;
import reactor.core.publisher.Sinks;

/**
 * Runs a backend's operations on at most {@code max} connections of the factory at once, whatever the
 * number of callers, and reuses a connection for the operations that queued meanwhile: a factory that
 * opens a connection per call (not a pool) then costs one connection per burst, not one per operation,
 * and the server never sees more than {@code max} connections of the backend.
 *
 * <pre>
 *  run(work) ─► queue (FIFO; runFirst: ahead of it) ─► drain: fewer than max lanes open, and more operations queued than lanes
 *                                      still connecting? open one
 *  lane: create a connection ─► take the next queued operation, run it, repeat ─► queue empty: close, lane ends
 *        connection failed before any operation ran: the next queued operation fails with that error
 *        an operation failed: its caller gets the error, the lane closes its connection and ends
 *  lane ends ─► drain again (an operation queued while the lane was closing is never stranded)
 *  home connection attached and idle ─► takes the next queued operation before any lane opens
 *        an operation failed on it and the connection is closed: it stops being home
 * </pre>
 *
 * <p><b>Order</b>: operations start in the order they were queued, except that those queued by
 * {@link #runFirst} (renewals and releases) start before any queued by {@link #run}: a renewal queued behind a
 * burst of acquisitions (thousands of waiters asking at once) would otherwise start after its lease expired,
 * and a release frees the lock those acquisitions wait for.
 *
 * <p>A caller that cancels while its operation is queued is skipped; once the operation runs it finishes on
 * its connection (so the connection is never left mid-statement) and its outcome is dropped, as a
 * cancelled call's outcome was before: the service treats a call it gave up on as of unknown outcome.
 *
 * <p><b>The home connection</b>: a connection that stays open for another reason (the backend's
 * {@code LISTEN} connection) can be {@linkplain #attach attached}. While attached and not running an
 * operation it takes the next queued operation before any lane is opened, one operation at a time: the
 * usual call then needs no connection from the factory (no pool hand-out and return), and a call made
 * where a notification of that connection arrived (a waiter granted by a hand-off, releasing) is written
 * from the connection's own event-loop thread. It is freed before its caller hears the outcome, so the
 * caller's next operation runs on it too. The lanes take what it cannot, as before: at most {@code max}
 * lanes plus the home connection are open at once.
 */
final class ConnectionLanes {

    /** How long {@link #detach} waits for the operation running on the home connection. */
    private static final Duration DETACH_WAIT = Duration.ofSeconds(10);

    private final ConnectionFactory factory;
    private final int max;
    private final Queue<Task<?>> queue = new ConcurrentLinkedQueue<>();
    /** Operations that start before any of {@link #queue}'s. */
    private final Queue<Task<?>> first = new ConcurrentLinkedQueue<>();
    private final AtomicInteger open = new AtomicInteger();
    private final AtomicReference<@Nullable Home> home = new AtomicReference<>();
    private final AtomicInteger draining = new AtomicInteger();
    /** Operations in both queues, cancelled ones included; and lanes opened that are not serving yet. */
    private final AtomicInteger queued = new AtomicInteger();
    private final AtomicInteger starting = new AtomicInteger();

    ConnectionLanes(ConnectionFactory factory, int max) {
        this.factory = factory;
        this.max = max;
    }

    /** @return a cold {@code Mono} running {@code work} on a lane's connection, once per subscription */
    <T> Mono<T> run(Function<Connection, Mono<T>> work) {
        return run(work, queue);
    }

    /**
     * As {@link #run}, but the operation starts before every operation queued by {@link #run}.
     *
     * @return a cold {@code Mono} running {@code work} on a lane's connection, once per subscription
     */
    <T> Mono<T> runFirst(Function<Connection, Mono<T>> work) {
        return run(work, first);
    }

    private <T> Mono<T> run(Function<Connection, Mono<T>> work, Queue<Task<?>> into) {
        return Mono.create(sink -> {
            Task<T> task = new Task<>(work, sink);
            sink.onCancel(task::cancel);
            into.add(task);
            queued.incrementAndGet();
            drain();
        });
    }

    /**
     * Runs queued operations on {@code c} too, first, until {@link #detach}ed; {@code c} stays open and
     * belongs to the caller.
     */
    void attach(Connection c) {
        Home previous = home.getAndSet(new Home(c));
        if (previous != null) {
            previous.leave();
        }
        drain();
    }

    /**
     * Stops running operations on {@code c}.
     *
     * @return completes once no operation runs on {@code c} any more (or after a bound, for a connection
     *         that stopped answering), so that it can be closed
     */
    Mono<Void> detach(Connection c) {
        Home h = home.get();
        if (h == null || h.connection != c) {
            return Mono.empty();
        }
        home.compareAndSet(h, null);
        return h.leave().timeout(DETACH_WAIT, Mono.empty());
    }

    /**
     * Gives queued operations to the home connection and to lanes; one thread at a time, the others
     * leaving the work to it, so that operations ending at once (failing without a round trip) do not nest.
     */
    private void drain() {
        if (draining.getAndIncrement() != 0) {
            return;
        }
        int missed = 1;
        do {
            Home h = home.get();
            if (h != null && !isEmpty() && h.take()) {
                serveHome(h);
            }
            openLanes();
            missed = draining.addAndGet(-missed);
        } while (missed != 0);
    }

    /** Opens lanes while fewer than {@code max} are open and more operations are queued than lanes are starting. */
    private void openLanes() {
        for (;;) {
            int n = open.get();
            if (n >= max || queued.get() <= starting.get()) {
                return;
            }
            if (open.compareAndSet(n, n + 1)) {
                starting.incrementAndGet();
                lane();
            }
        }
    }

    private void lane() {
        AtomicBoolean connected = new AtomicBoolean();
        Mono.usingWhen(factory.create(), c -> {
                            connected.set(true);
                            // the operation this lane was opened for leaves the queue before the lane stops
                            // counting as starting: in between, a drain would open a second lane for it
                            Task<?> taken = poll();
                            starting.decrementAndGet();
                            return serve(c, taken);
                        },
                        ConnectionLanes::close, (c, error) -> close(c), ConnectionLanes::close)
                .subscribe(null, error -> {
                    if (!connected.get()) {
                        starting.decrementAndGet();
                        Task<?> next = poll();
                        if (next != null) {
                            next.sink.error(error);
                        }
                    }
                    laneEnded();
                }, () -> {
                    if (!connected.get()) {
                        starting.decrementAndGet(); // the factory gave no connection
                    }
                    laneEnded();
                });
    }

    /** Runs {@code taken}, then the queued operations one after the other on {@code c} until the queue is empty. */
    private Mono<Void> serve(Connection c, @Nullable Task<?> taken) {
        if (taken == null) {
            return Mono.empty();
        }
        return Flux.<Task<?>>concat(Mono.just(taken), Flux.<Task<?>>generate(sink -> {
                    Task<?> next = poll();
                    if (next == null) {
                        sink.complete();
                    } else {
                        sink.next(next);
                    }
                }))
                .concatMap(task -> task.runOn(c), 0)
                .then();
    }

    /** Runs the next queued operation on the home connection, which {@link Home#take} reserved. */
    private void serveHome(Home h) {
        Task<?> next = poll();
        if (next == null) {
            h.free();
            if (!isEmpty()) {
                drain(); // queued after the poll, while the home connection looked busy
            }
            return;
        }
        next.runOn(h.connection, h::free).subscribe(null, error -> homeFailed(h), this::drain);
    }

    /** An operation failed on the home connection: it stops being home if it is closed. */
    private void homeFailed(Home h) {
        Mono.from(h.connection.validate(ValidationDepth.LOCAL))
                .onErrorReturn(false)
                .defaultIfEmpty(false)
                .subscribe(open -> {
                    if (!open && home.compareAndSet(h, null)) {
                        h.leave();
                    }
                    drain();
                });
    }

    private void laneEnded() {
        open.decrementAndGet();
        drain();
    }

    private boolean isEmpty() {
        return first.isEmpty() && queue.isEmpty();
    }

    /** @return the next operation that was not cancelled, now running, or null */
    private @Nullable Task<?> poll() {
        for (;;) {
            Task<?> next = first.poll();
            if (next == null) {
                next = queue.poll();
            }
            if (next != null) {
                queued.decrementAndGet();
            }
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
            return runOn(c, () -> { });
        }

        /**
         * Runs the operation on {@code c}, calls {@code before} once it finished, then signals its outcome;
         * the returned {@code Mono} ends after the signal, with the operation's error if any.
         */
        Mono<Void> runOn(Connection c, Runnable before) {
            return Mono.defer(() -> work.apply(c))
                    .materialize()
                    .doOnNext(signal -> {
                        before.run();
                        if (signal.isOnError()) {
                            sink.error(Objects.requireNonNull(signal.getThrowable()));
                        } else {
                            sink.success(signal.get());
                        }
                    })
                    .dematerialize()
                    .then();
        }
    }

    /** The attached home connection: IDLE, BUSY with one operation, or GONE once detached. */
    private static final class Home {
        private static final int IDLE = 0;
        private static final int BUSY = 1;
        private static final int GONE = 2;

        final Connection connection;
        private final AtomicInteger state = new AtomicInteger(IDLE);
        private final Sinks.Empty<Void> quiet = Sinks.empty();

        Home(Connection connection) {
            this.connection = connection;
        }

        /** @return whether the caller reserved the connection for one operation */
        boolean take() {
            return state.compareAndSet(IDLE, BUSY);
        }

        /** The operation is over: free again, or quiet if detached meanwhile. */
        void free() {
            if (!state.compareAndSet(BUSY, IDLE)) {
                quiet.tryEmitEmpty();
            }
        }

        /** @return completes once no operation runs on the connection any more */
        Mono<Void> leave() {
            if (state.getAndSet(GONE) != BUSY) {
                quiet.tryEmitEmpty();
            }
            return quiet.asMono();
        }
    }
}
