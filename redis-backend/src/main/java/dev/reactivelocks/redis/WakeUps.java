package dev.reactivelocks.redis;

import dev.reactivelocks.spi.LockBackend;
import io.lettuce.core.RedisCommandTimeoutException;
import io.lettuce.core.cluster.models.partitions.RedisClusterNode;
import io.lettuce.core.cluster.pubsub.RedisClusterPubSubAdapter;
import io.lettuce.core.cluster.pubsub.StatefulRedisClusterPubSubConnection;
import io.lettuce.core.pubsub.RedisPubSubAdapter;
import io.lettuce.core.pubsub.StatefulRedisPubSubConnection;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Arrays;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicReference;
import org.jspecify.annotations.Nullable;
import reactor.core.Disposable;
import reactor.core.Disposables;
import reactor.core.publisher.Flux;
import reactor.core.publisher.FluxSink;
import reactor.core.publisher.Mono;
import reactor.util.retry.Retry;

/**
 * The wake-up channels of one backend, on one pub/sub connection shared by all its waiters.
 *
 * <p><b>Plain pub/sub</b> (a standalone server, or a cluster older than Redis 7): one channel
 * {@code P wake:<backendId>}; the scripts {@code PUBLISH} on it (a cluster forwards the message to every node).
 * Every (re)subscription emits {@link LockBackend#ANY_RELEASE}.
 *
 * <p><b>Sharded pub/sub</b> (a Redis 7 cluster): a script may only publish in the slot of its keys, so the
 * backend has one channel per slot in which it has queued a waiter, {@code P{<slot tag>}:wake:<backendId>},
 * and the scripts {@code SPUBLISH} there. The first waiter of a slot subscribes its channel
 * ({@code SSUBSCRIBE}, routed to the slot's master) before it queues, so no wake-up is published before
 * someone listens. A channel the server unsubscribes (its slot moved, as in a failover) is subscribed
 * again where the slot now is; a re-subscription emits {@link LockBackend#ANY_RELEASE}.
 *
 * <p>On a cluster, a topology change reported by the client reopens the pub/sub connection (a node
 * connection to a dead master would otherwise stay silent) and subscribes every channel again; so does the
 * backend's move to a client of its own when its client is wedged ({@link Connections#reopenRequests()}). Lost
 * messages only delay a waiter until its fallback poll.
 */
final class WakeUps {

    private static final byte[] PUBLISH = "PUBLISH".getBytes(StandardCharsets.US_ASCII);
    private static final byte[] SPUBLISH = "SPUBLISH".getBytes(StandardCharsets.US_ASCII);

    private final Connections connections;
    private final RedisLockConfig config;
    private final KeyLayout layout;
    private final byte[] id;
    private final byte[] channel;
    private final byte[] shardSuffix;
    private final Mono<Boolean> sharded;
    /** The slots in which this backend queued waiters (sharded pub/sub): their channels are subscribed. */
    private final Set<Integer> slots = ConcurrentHashMap.newKeySet();
    private final AtomicReference<@Nullable Session> session = new AtomicReference<>();

    /**
     * @param serverInfo {@code INFO server} on the command connection, failing after the command timeout: the
     *                   server's version decides between sharded and plain pub/sub on a cluster
     */
    WakeUps(Connections connections, KeyLayout layout, byte[] id, boolean shardedIfSupported, RedisLockConfig config,
            Mono<String> serverInfo) {
        this.connections = connections;
        this.config = config;
        this.layout = layout;
        this.id = id;
        this.channel = Names.concat(layout.wakePrefix("", false), id, new byte[0]);
        this.shardSuffix = Names.concat(":wake:".getBytes(StandardCharsets.US_ASCII), id, new byte[0]);
        this.sharded = !connections.cluster() || !shardedIfSupported ? Mono.just(Boolean.FALSE)
                : serverInfo.map(WakeUps::atLeastRedis7)
                        .cache(v -> Duration.ofMillis(Long.MAX_VALUE), error -> Duration.ZERO, () -> Duration.ZERO);
    }

    static boolean atLeastRedis7(String info) {
        int at = info.indexOf("redis_version:");
        if (at < 0) {
            return false;
        }
        int end = info.indexOf('.', at);
        try {
            return Integer.parseInt(info.substring(at + "redis_version:".length(), end).trim()) >= 7;
        } catch (RuntimeException e) {
            return false;
        }
    }

    /** The script arguments that wake the waiters of {@code name}: the channel prefix and the publish command. */
    Mono<byte[][]> publishArguments(String name) {
        return sharded.map(shard -> new byte[][] {layout.wakePrefix(name, shard), shard ? SPUBLISH : PUBLISH});
    }

    /**
     * Completes once a waiter of {@code name} queued by this backend can be woken: with sharded pub/sub, when
     * the channel of the name's slot is subscribed (or the subscription failed: the waiter then polls); at once
     * otherwise.
     */
    Mono<Void> ready(String name) {
        return sharded.flatMap(shard -> {
            if (!shard) {
                return Mono.empty();
            }
            int slot = layout.slot(name);
            slots.add(slot);
            Session s = session.get();
            return s == null ? Mono.empty() : s.subscribe(slot);
        });
    }

    /**
     * The tokens published on this backend's channels while there are subscribers, and {@link LockBackend#ANY_RELEASE}
     * after each (re)subscription. Errors (a lost connection, a topology change) reopen the connection.
     */
    Flux<String> listen() {
        return sharded.flatMapMany(shard -> Flux.usingWhen(connections.openSubscriptions(),
                        c -> Flux.<String>create(sink -> open(c, shard, sink)),
                        c -> connections.closeSubscriptions(c, channel, false),
                        (c, error) -> connections.closeSubscriptions(c, channel,
                                error instanceof RedisCommandTimeoutException),
                        c -> connections.closeSubscriptions(c, channel, false)))
                .retryWhen(Retry.backoff(Long.MAX_VALUE, Duration.ofMillis(100)).maxBackoff(Duration.ofSeconds(2)));
    }

    private void open(StatefulRedisPubSubConnection<byte[], byte[]> c, boolean shard, FluxSink<String> sink) {
        Session s = new Session(c, sink);
        Disposable reopen = Disposables.composite(connections.reopenRequests().subscribe(e -> sink.error(
                new IllegalStateException((e instanceof String reason ? reason : "cluster topology changed")
                        + ": reopening the pub/sub connection"))), probe(c, sink));
        if (shard) {
            @SuppressWarnings("unchecked")
            StatefulRedisClusterPubSubConnection<byte[], byte[]> cluster = (StatefulRedisClusterPubSubConnection<byte[], byte[]>) c;
            RedisClusterPubSubAdapter<byte[], byte[]> listener = s.shardListener();
            cluster.addListener(listener);
            sink.onDispose(() -> {
                reopen.dispose();
                cluster.removeListener(listener);
                session.compareAndSet(s, null);
            });
            session.set(s);
            Flux.fromIterable(slots).flatMap(s::subscribe).then()
                    .subscribe(null, sink::error, () -> sink.next(LockBackend.ANY_RELEASE));
        } else {
            RedisPubSubAdapter<byte[], byte[]> listener = new RedisPubSubAdapter<>() {
                @Override
                public void message(byte[] ch, byte[] message) {
                    if (Arrays.equals(ch, channel)) {
                        sink.next(new String(message, StandardCharsets.US_ASCII));
                    }
                }

                @Override
                public void subscribed(byte[] ch, long count) {
                    if (Arrays.equals(ch, channel)) {
                        sink.next(LockBackend.ANY_RELEASE);
                    }
                }
            };
            c.addListener(listener);
            sink.onDispose(() -> {
                reopen.dispose();
                c.removeListener(listener);
            });
            c.reactive().subscribe(channel).subscribe(null, sink::error);
        }
    }

    /**
     * PINGs the pub/sub connection every {@link RedisLockConfig#probeInterval()}; one that does not answer within
     * {@link RedisLockConfig#commandTimeout()} fails the session, which opens a new connection.
     */
    private Disposable probe(StatefulRedisPubSubConnection<byte[], byte[]> c, FluxSink<String> sink) {
        Duration timeout = config.commandTimeout();
        return Flux.interval(config.probeInterval())
                .concatMap(i -> c.reactive().ping().timeout(timeout, Mono.error(() -> new RedisCommandTimeoutException(
                        connections.server() + " did not answer PING on the pub/sub connection within "
                        + timeout.toMillis() + "ms"))))
                .doOnNext(pong -> connections.answered())
                .subscribe(null, sink::error);
    }

    /** One open pub/sub connection with sharded channels: which slots it subscribed. */
    private final class Session {
        private final StatefulRedisPubSubConnection<byte[], byte[]> connection;
        private final FluxSink<String> sink;
        private final Map<Integer, Mono<Void>> subscribed = new ConcurrentHashMap<>();
        /** Channels whose subscription was confirmed once: a second confirmation is a re-subscription. */
        private final Set<ByteBuffer> confirmed = ConcurrentHashMap.newKeySet();

        Session(StatefulRedisPubSubConnection<byte[], byte[]> connection, FluxSink<String> sink) {
            this.connection = connection;
            this.sink = sink;
        }

        Mono<Void> subscribe(int slot) {
            return subscribed.computeIfAbsent(slot, k -> connection.reactive()
                    .ssubscribe(Names.concat(layout.slotWakePrefix(k), id, new byte[0]))
                    .onErrorResume(e -> {
                        subscribed.remove(k);
                        return Mono.empty();
                    })
                    .cache());
        }

        private boolean ours(byte[] ch) {
            int n = shardSuffix.length;
            return ch.length >= n && Arrays.equals(ch, ch.length - n, ch.length, shardSuffix, 0, n);
        }

        RedisClusterPubSubAdapter<byte[], byte[]> shardListener() {
            return new RedisClusterPubSubAdapter<>() {
                @Override
                public void smessage(RedisClusterNode node, byte[] ch, byte[] message) {
                    if (ours(ch)) {
                        sink.next(new String(message, StandardCharsets.US_ASCII));
                    }
                }

                @Override
                public void ssubscribed(RedisClusterNode node, byte[] ch, long count) {
                    if (ours(ch) && !confirmed.add(ByteBuffer.wrap(ch.clone()))) {
                        sink.next(LockBackend.ANY_RELEASE);
                    }
                }

                @Override
                public void sunsubscribed(RedisClusterNode node, byte[] ch, long count) {
                    // the server dropped the channel (its slot moved): subscribe it where the slot is now
                    if (ours(ch) && session.get() == Session.this) {
                        connection.reactive().ssubscribe(ch).subscribe(null, sink::error);
                    }
                }
            };
        }
    }
}
