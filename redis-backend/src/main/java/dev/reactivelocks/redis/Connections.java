package dev.reactivelocks.redis;

import io.lettuce.core.RedisClient;
import io.lettuce.core.RedisCommandTimeoutException;
import io.lettuce.core.RedisURI;
import io.lettuce.core.api.StatefulConnection;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.cluster.RedisClusterClient;
import io.lettuce.core.cluster.api.StatefulRedisClusterConnection;
import io.lettuce.core.cluster.api.reactive.RedisClusterReactiveCommands;
import io.lettuce.core.codec.ByteArrayCodec;
import io.lettuce.core.pubsub.StatefulRedisPubSubConnection;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Consumer;
import java.util.function.Function;
import java.util.function.Supplier;
import org.jspecify.annotations.Nullable;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import reactor.core.publisher.Sinks;
import reactor.core.scheduler.Schedulers;

/** Where a backend's connections come from, and who closes them. */
interface Connections {

    ByteArrayCodec CODEC = ByteArrayCodec.INSTANCE;

    /** The connection for the scripts, opened at the first call and then kept. */
    Mono<RedisClusterReactiveCommands<byte[], byte[]>> commands();

    /** A pub/sub connection for the wake channels; a cluster one on a cluster. */
    Mono<StatefulRedisPubSubConnection<byte[], byte[]>> openSubscriptions();

    /**
     * Gives back a connection of {@link #openSubscriptions()}: closes it, or unsubscribes {@code channel};
     * {@code stalled}: it stopped answering (the backend replaces its own).
     */
    Mono<Void> closeSubscriptions(StatefulRedisPubSubConnection<byte[], byte[]> c, byte[] channel, boolean stalled);

    /** Whether the server is a Redis Cluster. */
    boolean cluster();

    /** Names the server in error messages: {@code Redis at host:port}, or the cluster's masters once known. */
    String server();

    /**
     * Emits when the pub/sub connection is to be reopened: the client saw the cluster topology change (never on a
     * standalone server), or the backend moved to a new client.
     */
    Flux<Object> reopenRequests();

    /**
     * Closes {@code c}. Giving up on the returned {@code Mono} leaves Lettuce's close future alone (Lettuce hands the
     * same future to every caller of {@code closeAsync}, the client's shutdown among them).
     */
    static Mono<Void> closing(StatefulConnection<?, ?> c) {
        return Mono.fromCompletionStage(() -> c.closeAsync().thenApply(v -> v));
    }

    /**
     * Reports that {@code commands} (from {@link #commands()}) stopped completing commands, or, when null, that opening
     * the command connection did not complete in time: a connection the backend opened is replaced; one of the caller
     * is kept.
     */
    void stalled(@Nullable RedisClusterReactiveCommands<byte[], byte[]> commands);

    /** Reports that a connection of the backend answered a command (a reply, or an error reply). */
    void answered();

    /** Closes the connections the backend opened. */
    Mono<Void> close();

    /**
     * Connections opened (without blocking) by the backend, first with a client of the caller, and closed by it.
     *
     * <p>Healing: a command connection reported {@link #stalled} (or one whose opening took longer than the command
     * timeout) is replaced by a new one at the next command, and closed; so is one found closed for good (dropped by
     * the server, with a client whose options turn automatic reconnection off); a pub/sub connection given back as stalled
     * is closed, and the next {@link #openSubscriptions()} opens a new one. The client is <em>wedged</em> when,
     * after it worked, a replacement stalls too before any connection of the client answered again, or when closing
     * a stalled connection does not complete within the command timeout (its I/O thread no longer runs). The backend
     * then moves to a client of its own with new client resources and the caller's client options: later
     * connections are opened with it, the pub/sub connection is reopened on it ({@link #reopenRequests()} emits),
     * and a client of its own that it leaves is shut down. It shuts its current client down on {@link #close()};
     * the caller's client is never shut down.
     */
    final class Opened<C extends StatefulConnection<byte[], byte[]>> implements Connections {
        private final Function<C, RedisClusterReactiveCommands<byte[], byte[]>> reactive;
        private final boolean cluster;
        private final Duration timeout;
        private final AtomicReference<Generation<C>> generation;
        private final AtomicReference<Attempt<C>> current = new AtomicReference<>();
        /** The open pub/sub connections: of which client, and whether each replaced a stalled one. */
        private final Map<StatefulRedisPubSubConnection<byte[], byte[]>, Origin<C>> subscriptions =
                new ConcurrentHashMap<>();
        private final Sinks.Many<Object> moved = Sinks.many().multicast().directBestEffort();
        private final AtomicBoolean moving = new AtomicBoolean();
        private volatile boolean closed;

        private Opened(Dialer<C> dialer, Function<C, RedisClusterReactiveCommands<byte[], byte[]>> reactive,
                       boolean cluster, Duration timeout) {
            this.generation = new AtomicReference<>(new Generation<>(dialer));
            this.reactive = reactive;
            this.cluster = cluster;
            this.timeout = timeout;
            current.set(attempt(generation.get(), false));
        }

        static Connections standalone(RedisClient client, RedisURI uri, Duration timeout) {
            return new Opened<>(Dialer.standalone(client, uri, false), StatefulRedisConnection::reactive, false,
                    timeout);
        }

        static Connections cluster(RedisClusterClient client, Duration timeout) {
            return new Opened<>(Dialer.cluster(client, false), StatefulRedisClusterConnection::reactive, true, timeout);
        }

        @Override
        public Mono<RedisClusterReactiveCommands<byte[], byte[]>> commands() {
            return Mono.defer(() -> {
                Attempt<C> was = current.get();
                C c = was.opened;
                if (c != null && !c.isOpen() && !c.getOptions().isAutoReconnect()) {
                    // closed for good: the server dropped it and the client does not reconnect
                    if (current.compareAndSet(was, attempt(was.generation, false))) {
                        closing(c).subscribe(null, e -> { });
                    }
                    return current.get().connection;
                }
                return was.connection;
            }).map(reactive);
        }

        @Override
        public void answered() {
            Generation<C> g = generation.get();
            if (g.suspect || !g.answered) {
                g.suspect = false;
                g.answered = true;
            }
        }

        @Override
        public void stalled(@Nullable RedisClusterReactiveCommands<byte[], byte[]> commands) {
            Attempt<C> was = current.get();
            C c = was.opened;
            boolean same = commands == null
                    ? c == null && System.nanoTime() - was.created >= timeout.toNanos()   // opening it stalled
                    : c != null && reactive.apply(c) == commands;
            Generation<C> g = was.generation;
            if (!same || !current.compareAndSet(was, attempt(g, true))) {
                return;
            }
            boolean wedged = g.stalled(was.replacement);
            if (c != null) {
                retire(c, g, wedged);
            } else {
                // opened late: close it then
                was.connection.subscribe(late -> closing(late).subscribe(null, e -> { }), e -> { });
                if (wedged) {
                    move(g);
                }
            }
        }

        /** Closes a connection that stopped answering; when the client is wedged or closing stalls too, moves on. */
        private void retire(StatefulConnection<byte[], byte[]> c, Generation<C> g, boolean wedged) {
            if (wedged) {
                move(g);
            }
            closing(c).timeout(timeout).subscribe(null, e -> move(g));
        }

        /** Moves to a client of the backend's own with new client resources, unless it already left {@code from}. */
        private void move(Generation<C> from) {
            if (closed || generation.get() != from || !moving.compareAndSet(false, true)) {
                return;
            }
            // creating client resources reads system properties and files: off the event loops
            Mono.fromCallable(() -> new Generation<>(from.dialer.fresh().get()))
                    .subscribeOn(Schedulers.boundedElastic())
                    .subscribe(to -> {
                        generation.set(to);
                        Attempt<C> left = current.getAndSet(attempt(to, false));
                        moving.set(false);
                        left.connection.subscribe(c -> closing(c).timeout(timeout).subscribe(null, e -> { }),
                                e -> { });
                        shutdown(from.dialer).subscribe();
                        if (closed) {   // close() may have shut down the client it found before this one
                            current.set(closedAttempt(to));
                            shutdown(to.dialer).subscribe();
                            return;
                        }
                        moved.tryEmitNext("the backend moved to a Redis client with new client resources");
                    }, error -> moving.set(false));
        }

        /**
         * A command connection of {@code g}, opened at its first command; one that opens after {@link #close()} is
         * closed at once (close() found it still opening).
         */
        private Attempt<C> attempt(Generation<C> g, boolean replacement) {
            return new Attempt<>(g, replacement, Mono.defer(() -> Mono.fromCompletionStage(g.dialer.connect())),
                    c -> {
                        if (closed) {
                            closing(c).subscribe(null, e -> { });
                        }
                    });
        }

        private Attempt<C> closedAttempt(Generation<C> g) {
            return new Attempt<>(g, false, Mono.error(new IllegalStateException("the Redis lock backend is closed")),
                    c -> { });
        }

        /** Shuts down a client of the backend's own (never the caller's), giving up after the command timeout. */
        private Mono<Void> shutdown(Dialer<C> dialer) {
            Supplier<CompletionStage<Void>> shutdown = dialer.shutdown();
            return shutdown == null ? Mono.empty() : Mono.fromCompletionStage(() -> shutdown.get().thenApply(v -> v))
                    .timeout(timeout).onErrorResume(e -> Mono.empty());
        }

        @Override
        public Mono<StatefulRedisPubSubConnection<byte[], byte[]>> openSubscriptions() {
            return Mono.defer(() -> {
                Generation<C> g = generation.get();
                boolean replacement = g.suspect;
                CompletionStage<? extends StatefulRedisPubSubConnection<byte[], byte[]>> opening =
                        g.dialer.subscriptions().get();
                // a stage of its own: giving up on it (a cancel, the timeout) leaves Lettuce's opening alone, and
                // the connection it opens later is closed
                return Mono.fromCompletionStage(opening.thenApply(c -> c))
                        .<StatefulRedisPubSubConnection<byte[], byte[]>>map(c -> c)
                        .doOnNext(c -> subscriptions.put(c, new Origin<>(g, replacement)))
                        .doOnCancel(() -> opening.thenAccept(late -> closing(late).subscribe(null, e -> { })))
                        .timeout(timeout, Mono.defer(() -> {
                            if (g.stalled(replacement)) {
                                move(g);
                            }
                            return Mono.error(new RedisCommandTimeoutException(server() + " did not complete opening"
                                    + " a pub/sub connection within " + timeout.toMillis() + "ms"));
                        }));
            });
        }

        @Override
        public Mono<Void> closeSubscriptions(StatefulRedisPubSubConnection<byte[], byte[]> c, byte[] channel,
                                             boolean stalled) {
            Origin<C> opened = subscriptions.remove(c);
            if (stalled && opened != null) {
                Generation<C> g = opened.generation;
                return Mono.fromRunnable(() -> retire(c, g, g.stalled(opened.replacement)));
            }
            return closing(c).timeout(timeout).onErrorResume(e -> Mono.empty());
        }

        @Override
        public boolean cluster() {
            return cluster;
        }

        @Override
        public String server() {
            return generation.get().dialer.server().get();
        }

        @Override
        public Flux<Object> reopenRequests() {
            return Flux.merge(Flux.defer(() -> generation.get().dialer.topologyChanges()), moved.asFlux());
        }

        @Override
        public Mono<Void> close() {
            return Mono.defer(() -> {
                closed = true;
                Attempt<C> last = current.getAndSet(closedAttempt(generation.get()));
                C c = last.opened;
                Mono<Void> closedConnection = c == null ? Mono.empty()
                        : closing(c).timeout(timeout).onErrorResume(e -> Mono.empty());
                return closedConnection.then(Mono.defer(() -> shutdown(generation.get().dialer)));
            });
        }

        /**
         * One client in use: its dialer, whether a connection of it ever answered, and whether a connection of it
         * stalled and none answered since.
         */
        private static final class Generation<C> {
            final Dialer<C> dialer;
            volatile boolean answered;
            volatile boolean suspect;

            Generation(Dialer<C> dialer) {
                this.dialer = dialer;
            }

            /**
             * A connection of this client stalled; {@code replacement}: it was opened after an earlier stall.
             *
             * @return whether the client is wedged: it worked once, and a replacement stalled too before any
             *         connection answered again (a client that never answered, such as one created during a server
             *         hang, is not judged by its stalls; closing a connection still tells a stuck one)
             */
            boolean stalled(boolean replacement) {
                boolean wedged = replacement && suspect && answered;
                suspect = true;
                return wedged;
            }
        }

        /** Which client opened a pub/sub connection, and whether it replaced a stalled one. */
        private record Origin<C>(Generation<C> generation, boolean replacement) {
        }

        /** One command connection of a client: opened at the first command, then kept until it is replaced. */
        private static final class Attempt<C> {
            final Generation<C> generation;
            /** Created when an earlier connection of the client stalled. */
            final boolean replacement;
            final long created = System.nanoTime();
            final Mono<C> connection;
            volatile @Nullable C opened;

            /** {@code whenOpened} runs once the connection is open, after {@link #opened} was set. */
            Attempt(Generation<C> generation, boolean replacement, Mono<C> opening, Consumer<C> whenOpened) {
                this.generation = generation;
                this.replacement = replacement;
                this.connection = opening.doOnNext(c -> {
                            opened = c;
                            whenOpened.accept(c);
                        })
                        .cache(v -> Duration.ofMillis(Long.MAX_VALUE), error -> Duration.ZERO, () -> Duration.ZERO);
            }
        }
    }

    /** Connections to a standalone server owned by the caller. */
    final class Given implements Connections {
        private final Mono<RedisClusterReactiveCommands<byte[], byte[]>> commands;
        private final StatefulRedisPubSubConnection<byte[], byte[]> subscriptions;

        Given(StatefulRedisConnection<byte[], byte[]> commands, StatefulRedisPubSubConnection<byte[], byte[]> subscriptions) {
            this.commands = Mono.just(commands.reactive());
            this.subscriptions = subscriptions;
        }

        @Override
        public Mono<RedisClusterReactiveCommands<byte[], byte[]>> commands() {
            return commands;
        }

        @Override
        public void stalled(@Nullable RedisClusterReactiveCommands<byte[], byte[]> commands) {
            // the caller's connection: the timed-out command failed, the connection stays the caller's
        }

        @Override
        public void answered() {
            // nothing to decide: the caller's connections are never replaced
        }

        @Override
        public Mono<StatefulRedisPubSubConnection<byte[], byte[]>> openSubscriptions() {
            return Mono.just(subscriptions);
        }

        @Override
        public Mono<Void> closeSubscriptions(StatefulRedisPubSubConnection<byte[], byte[]> c, byte[] channel,
                                             boolean stalled) {
            return c.reactive().unsubscribe(channel).onErrorResume(e -> Mono.empty());
        }

        @Override
        public boolean cluster() {
            return false;
        }

        @Override
        public String server() {
            return "Redis";   // the caller's connection: Lettuce does not tell where it goes
        }

        @Override
        public Flux<Object> reopenRequests() {
            return Flux.never();
        }

        @Override
        public Mono<Void> close() {
            return Mono.empty();
        }
    }
}
