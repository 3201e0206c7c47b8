package dev.reactivelocks.redis;

import dev.reactivelocks.LockConfigurationException;
import dev.reactivelocks.LockMode;
import dev.reactivelocks.spi.BackendLease;
import dev.reactivelocks.spi.HandOff;
import dev.reactivelocks.spi.LockBackend;
import dev.reactivelocks.spi.Permits;
import dev.reactivelocks.spi.StoredLease;
import dev.reactivelocks.spi.StoredLock;
import io.lettuce.core.KeyScanArgs;
import io.lettuce.core.KeyScanCursor;
import io.lettuce.core.RedisClient;
import io.lettuce.core.RedisCommandTimeoutException;
import io.lettuce.core.RedisCommandExecutionException;
import io.lettuce.core.RedisException;
import io.lettuce.core.RedisNoScriptException;
import io.lettuce.core.RedisURI;
import io.lettuce.core.ScanArgs;
import io.lettuce.core.ScriptOutputType;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.cluster.RedisClusterClient;
import io.lettuce.core.cluster.api.reactive.RedisClusterReactiveCommands;
import io.lettuce.core.codec.ByteArrayCodec;
import io.lettuce.core.pubsub.StatefulRedisPubSubConnection;
import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Function;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.jspecify.annotations.Nullable;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import reactor.core.publisher.Sinks;

/**
 * A {@link LockBackend} on Redis through Lettuce's reactive API: the WEAK store of
 * {@link dev.reactivelocks.distributed.DistributedLockService}.
 *
 * <pre>{@code
 * RedisClient client = RedisClient.create();
 * RedisLockBackend redis = RedisLockBackend.create(client, RedisURI.create("redis://127.0.0.1:6379"),
 *         RedisLockConfig.defaults());
 * LockService locks = DistributedLockService.builder(redis).lease(Duration.ofSeconds(30)).build();
 * }</pre>
 *
 * <p><b>Deployments</b>: a standalone server or Sentinel ({@link #create(RedisClient, RedisURI, RedisLockConfig)}),
 * or a Redis Cluster ({@link #create(RedisClusterClient, RedisLockConfig)}). Every key of a name is in the hash
 * slot of the name, so each script runs on one master.
 *
 * <p><b>Keys</b> (prefix {@code P}, see {@link RedisLockConfig}): a hash {@code P{<name>}:lock} per locked
 * name maps each owner token to {@code mode:fencing:expiresAtMillis}, and the key expires with its last
 * lease; the wait queue of a name is the sorted set {@code P{<name>}:wait} (tokens scored by their ticket,
 * in arrival order) with the hash {@code P{<name>}:waiter} (token to {@code mode:expiresAtMillis:backendId})
 * and the sorted set {@code P{<name>}:waitx} (the exclusive entries, by ticket), all expiring with their last
 * entry; {@code P{<name>}:fence} holds the name's last fencing token and expires one lease after the grant;
 * {@code P{<name>}:permits} holds the permits of a name used as a semaphore, as long as its leases and entries.
 * {@code P epoch} (on a cluster, one {@code P{<slot tag>}:epoch} per slot) marks that the server still has
 * the data. A name that is neither held nor waited for leaves no key behind once its last lease and queue
 * entry have expired. Names are binary-safe key bytes (UTF-8, unpaired surrogates included), so names of
 * any characters and length are stored verbatim (a name starting with <code>'&#125;'</code> or {@code '~'} gets a
 * {@code '~'} before it).
 *
 * <p><b>Atomicity</b>: acquisition, renewal and release are each one Lua script (the {@code .lua} resources
 * of this package), loaded once and run with {@code EVALSHA} ({@code EVAL} when the server answers
 * {@code NOSCRIPT}, for example after a restart or on a new master). Expiry is judged by the Redis server
 * clock ({@code TIME}), never by the clients' clocks; expired leases and queue entries are removed by the
 * next script that touches the name. A lease or queue entry ends its duration (rounded up to whole milliseconds)
 * after the server time rounded up to the next millisecond, so never before the end the lock service counts from
 * the moment it sent the call.
 *
 * <p><b>Fencing tokens</b>: {@code max(last + 1, TIME in microseconds)}, where {@code last} is the name's
 * previous token while its fencing key lives. The key expires one lease after the grant and never before
 * the server clock has passed the token, so tokens increase strictly per name, also after the key expired
 * or was lost in a restart or failover (as long as the server clock is not behind the one that granted
 * the previous token).
 *
 * <p><b>Data loss</b>: when the epoch key is missing the server lost its lock data (or the prefix is
 * new): the first acquisition writes it, and no lock of the prefix (on a cluster: of the slot) is granted
 * during {@link RedisLockConfig#restartGrace()} (by default one lease), so that holders of lost leases
 * learn the loss before anyone else is granted their lock.
 *
 * <p><b>Fairness</b>: a waiting acquisition ({@link #acquireOrQueue}) appends its token to the name's queue
 * and is granted only when it fits next to the live leases and every live entry ahead of it, so waiters
 * of all processes are granted in the order they first asked (a run of shared entries at the head is
 * granted together). {@link #tryAcquire} never barges past a queued waiter. The entry of a waiter that
 * stopped asking expires {@code keepQueued} after its last call (Redis clock) and then stops blocking the
 * waiters behind it.
 *
 * <p><b>Cost</b>: no script reads a whole queue. A queued waiter's periodic call refreshes its own entry and,
 * while a live lease conflicts, does nothing else; otherwise it looks only at the first live entry of the
 * queue (exclusive request) or of the exclusive entries (shared request). Dead entries are removed when
 * they are met at such a head, once each. Every call is O(log n) in the queue length, amortised, so
 * thousands of services can wait on one name.
 *
 * <p><b>Wake-ups</b>: each backend has a random id and {@link #releases()} holds one pub/sub connection
 * subscribed to its own channel {@code P wake:<id>} (on a Redis 7 cluster, sharded channels
 * {@code P{<slot tag>}:wake:<id>}, one per slot where it queued waiters), shared by every subscriber of this
 * backend (one per service, whatever the number of waiters and names). A release, or an acquisition that
 * found expired leases or entries, publishes the token of each queued entry that may now pass on the
 * channel of the backend that queued it: one message per hand-off, received by one process. Lettuce
 * re-subscribes after a reconnection, and every re-subscription emits {@link LockBackend#ANY_RELEASE}.
 *
 * <p><b>Healing</b>: connecting plus each command may take at most {@link RedisLockConfig#commandTimeout()}; a
 * command that takes longer fails with a transient {@link RedisCommandTimeoutException} (retried by the lock
 * service within the caller's deadline). A {@code PING} every {@link RedisLockConfig#probeInterval()} checks the
 * command connection (from the first operation on) and the pub/sub connection. A connection the backend opened
 * that stalls (or whose opening does not complete within the command timeout) is replaced by a new one, and so is
 * one that the server dropped when the client's options turn Lettuce's automatic reconnection off. When, after
 * the client worked, the replacement stalls too before any connection answered again, or closing a stalled
 * connection does not complete in time, the client itself is wedged (a stuck Lettuce I/O thread stops every connection on it): the backend then
 * moves, on its own, to a client it creates with new client resources and the options of the caller's client (a
 * {@link RedisClient}, or a {@link RedisClusterClient} seeded with the nodes of the caller's client's topology),
 * opens its command connection there and reopens its pub/sub connection there, subscribing every wake-up channel
 * again. The backend owns and closes the connections it opened and the clients it created (a client it leaves is
 * shut down then, the current one on {@link #close()}); the caller's client and resources are never shut down.
 * Connections passed in by the caller are never closed or replaced: their stalls are reported as the timeout
 * errors.
 *
 * <p><b>Threading</b>: nothing blocks; results are signalled on Lettuce's event loop.
 */
public final class RedisLockBackend implements LockBackend {

    static {
        LuaScripts.init();   // reads the .lua resources now, on the caller's thread, never on an event loop
    }

    private final RedisLockConfig config;
    private final Connections connections;
    private final KeyLayout layout;
    /** This backend's id in queue entries: waking an entry publishes its token on the channel of this id. */
    private final byte[] id;
    private final WakeUps wakeUps;
    private final Sinks.Empty<Void> closing = Sinks.empty();
    /** The wake-up messages, each parsed once: a token to wake, and the grant when it is a hand-off. */
    private final Flux<Signal> signals;
    /** PINGs the command connection, from the first command until {@link #close()}. */
    private final Flux<String> probe;
    private final AtomicBoolean probing = new AtomicBoolean();
    /** Set by {@link #close()}: every later operation fails with a permanent error instead of a transient one. */
    private volatile boolean closed;

    private RedisLockBackend(Connections connections, RedisLockConfig config, boolean shardedIfSupported) {
        this.config = config;
        this.connections = connections;
        this.layout = new KeyLayout(config.prefixBytes(), connections.cluster());
        this.id = ascii(Long.toHexString(new SecureRandom().nextLong()));
        this.wakeUps = new WakeUps(connections, layout, id, shardedIfSupported, config,
                Mono.defer(() -> withTimeout("INFO", c -> c.info("server"))));
        this.probe = Flux.interval(config.probeInterval())
                .concatMap(i -> withTimeout("PING", c -> c.ping()).onErrorResume(e -> Mono.empty()))
                .takeUntilOther(closing.asMono())
                .publish().refCount(1);
        this.signals = wakeUps.listen().map(Signal::parse).takeUntilOther(closing.asMono()).publish().refCount(1);
    }

    /**
     * A backend that opens its own two connections with {@code client} to {@code uri}: one for commands
     * (opened at the first operation) and one for pub/sub (opened while {@link #releases()} has
     * subscribers). Connecting never blocks. {@link #close()} closes both, and shuts down the client the backend
     * created if it had to leave a wedged {@code client} (see <b>Healing</b> above); {@code client} stays open.
     *
     * @param client the Lettuce client (its resources, event loops and options are used)
     * @param uri the Redis server shared by all services that must exclude each other
     * @param config key prefix and restart grace
     * @return a new backend
     */
    public static RedisLockBackend create(RedisClient client, RedisURI uri, RedisLockConfig config) {
        Objects.requireNonNull(client, "client");
        Objects.requireNonNull(uri, "uri");
        Objects.requireNonNull(config, "config");
        return new RedisLockBackend(Connections.Opened.standalone(client, uri, config.commandTimeout()), config, false);
    }

    /**
     * A backend with {@link RedisLockConfig#defaults()} that opens its own connections.
     *
     * @param client the Lettuce client
     * @param uri the Redis server
     * @return a new backend
     */
    public static RedisLockBackend create(RedisClient client, RedisURI uri) {
        return create(client, uri, RedisLockConfig.defaults());
    }

    /**
     * A backend on a Redis Cluster that opens its own two connections with {@code client} (to the cluster
     * given when the client was created): a cluster connection for commands, opened at the first operation,
     * which sends each script to the master of the name's slot, and a cluster pub/sub connection, opened
     * while {@link #releases()} has subscribers. Connecting never blocks. {@link #close()} closes both, and shuts
     * down the cluster client the backend created if it had to leave a wedged {@code client} (see <b>Healing</b>
     * above); {@code client} stays open.
     *
     * <p>Wake-ups use sharded pub/sub ({@code SSUBSCRIBE}/{@code SPUBLISH}) when the cluster runs Redis 7 or
     * later, plain pub/sub otherwise. Enable the client's topology refresh
     * ({@code ClusterTopologyRefreshOptions} with adaptive triggers or a periodic refresh): after a failover
     * the backend follows the client's view of the cluster, and reopens its pub/sub connection when the
     * client reports a topology change.
     *
     * @param client the Lettuce cluster client (its resources, options and topology are used)
     * @param config key prefix and restart grace
     * @return a new backend
     */
    public static RedisLockBackend create(RedisClusterClient client, RedisLockConfig config) {
        Objects.requireNonNull(client, "client");
        Objects.requireNonNull(config, "config");
        return new RedisLockBackend(Connections.Opened.cluster(client, config.commandTimeout()), config, true);
    }

    /**
     * A backend on a Redis Cluster with {@link RedisLockConfig#defaults()}; see
     * {@link #create(RedisClusterClient, RedisLockConfig)}.
     *
     * @param client the Lettuce cluster client
     * @return a new backend
     */
    public static RedisLockBackend create(RedisClusterClient client) {
        return create(client, RedisLockConfig.defaults());
    }

    /** A cluster backend that wakes waiters with plain pub/sub even on Redis 7 (the path of older clusters). */
    static RedisLockBackend withPlainPubSub(RedisClusterClient client, RedisLockConfig config) {
        return new RedisLockBackend(Connections.Opened.cluster(client, config.commandTimeout()), config, false);
    }

    /**
     * A backend on connections to a standalone server that the caller opened (with {@link ByteArrayCodec})
     * and keeps owning: {@code commands} may be shared with the application, {@code subscriptions} is used
     * to subscribe to the backend's channel (other subscriptions on it are left alone). {@link #close()}
     * unsubscribes but closes neither. A command that does not complete within
     * {@link RedisLockConfig#commandTimeout()} fails with a transient error, but these connections are never
     * replaced: healing them is the caller's decision.
     *
     * <p>A {@code MULTI} of the application on {@code commands} takes in the backend's scripts sent before its
     * {@code EXEC} or {@code DISCARD}. When the transaction is discarded, or its {@code EXEC} aborted by
     * {@code WATCH}, those scripts do not run: a renewal or a release fails with a transient error and the lock
     * service retries it after the transaction, while an acquisition reads as "busy". Run transactions on
     * another connection.
     *
     * @param commands the connection for the scripts
     * @param subscriptions the pub/sub connection for release signals
     * @param config key prefix and restart grace
     * @return a new backend
     */
    public static RedisLockBackend create(StatefulRedisConnection<byte[], byte[]> commands,
                                          StatefulRedisPubSubConnection<byte[], byte[]> subscriptions,
                                          RedisLockConfig config) {
        Objects.requireNonNull(commands, "commands");
        Objects.requireNonNull(subscriptions, "subscriptions");
        Objects.requireNonNull(config, "config");
        return new RedisLockBackend(new Connections.Given(commands, subscriptions), config, false);
    }

    /** @return the configuration */
    public RedisLockConfig config() {
        return config;
    }

    @Override
    public Mono<BackendLease> tryAcquire(String name, LockMode mode, String token, Duration lease) {
        return acquire(name, mode, 0, token, lease, Duration.ZERO);
    }

    /**
     * {@inheritDoc}
     *
     * @return {@code true}: the name's permits are kept next to its leases (key {@code P{name}:permits},
     *         living as long as the name's leases and queue entries)
     */
    @Override
    public boolean countsPermits() {
        return true;
    }

    @Override
    public Mono<BackendLease> tryAcquirePermit(String name, int permits, String token, Duration lease) {
        return acquire(name, LockMode.SHARED, Permits.check(permits), token, lease, Duration.ZERO);
    }

    @Override
    public Mono<BackendLease> acquireOrQueuePermit(String name, int permits, String token, Duration lease,
                                                   Duration keepQueued) {
        checkKeepQueued(keepQueued);
        return wakeUpsReady(name).then(acquire(name, LockMode.SHARED, Permits.check(permits), token, lease,
                keepQueued));
    }

    private static void checkKeepQueued(Duration keepQueued) {
        if (keepQueued.isNegative() || keepQueued.isZero()) {
            throw new IllegalArgumentException("keepQueued must be > 0, was " + keepQueued);
        }
    }

    /**
     * {@inheritDoc}
     *
     * <p>The entry is kept in the name's queue keys with an expiry by the Redis clock; a release (or a
     * removed entry) publishes the tokens of the entries that may now pass on the channels of the backends
     * that queued them.
     */
    @Override
    public Mono<BackendLease> acquireOrQueue(String name, LockMode mode, String token, Duration lease,
                                             Duration keepQueued) {
        checkKeepQueued(keepQueued);
        return wakeUpsReady(name).then(acquire(name, mode, 0, token, lease, keepQueued));
    }

    /** Completes once wake-ups for {@code name} are subscribed; errors are translated as the scripts' are. */
    private Mono<Void> wakeUpsReady(String name) {
        return wakeUps.ready(name).onErrorMap(e -> translate(name, e));
    }

    /** Runs the acquisition script; a zero {@code keepQueued} never queues; {@code permits} 0: a plain lock. */
    private Mono<BackendLease> acquire(String name, LockMode mode, int permits, String token, Duration lease,
                                       Duration keepQueued) {
        Duration grace = config.restartGrace() == null ? lease : config.restartGrace();
        return wakeUps.publishArguments(name)
                .flatMap(wake -> this.<byte[]>run(LuaScripts.ACQUIRE, ScriptOutputType.VALUE, layout.acquireKeys(name),
                        ascii(token), ascii(mode == LockMode.EXCLUSIVE ? "E" : "S"), millis(lease),
                        millis(grace), millis(keepQueued), wake[0], id, wake[1],
                        ascii(Integer.toString(permits))))
                .map(reply -> {
                    String s = new String(reply, StandardCharsets.US_ASCII);
                    LockMode granted = s.charAt(0) == 'E' ? LockMode.EXCLUSIVE : LockMode.SHARED;
                    return BackendLease.of(name, granted, token, Long.parseLong(s.substring(2)));
                })
                .onErrorMap(e -> e instanceof RedisCommandExecutionException && e.getMessage() != null
                        && PERMITS_IN_USE.matcher(e.getMessage()).find(), e -> disagreement(name, mode, permits, e))
                .onErrorMap(e -> translate(name, e));
    }

    /** The error reply of acquire.lua when the permits disagree (also inside Redis 6.2's wrapped script errors). */
    private static final Pattern PERMITS_IN_USE = Pattern.compile("PERMITS (\\d+)");

    private static LockConfigurationException disagreement(String name, LockMode mode, int permits, Throwable e) {
        Matcher m = PERMITS_IN_USE.matcher(Objects.requireNonNull(e.getMessage()));
        int inUse = m.find() ? Integer.parseInt(m.group(1)) : -1;
        LockConfigurationException error = Permits.disagreement(name, mode, permits, inUse);
        error.addSuppressed(e);
        return error;
    }

    /**
     * {@inheritDoc}
     *
     * <p>A script that Redis did not run (its command completed without a reply, as the scripts queued in a
     * transaction of the caller on a shared command connection do when it ends in {@code DISCARD} or in an
     * {@code EXEC} aborted by {@code WATCH}) fails with a transient {@link RedisException}: the lock service
     * retries the renewal, it does not read it as a lost lease.
     */
    @Override
    public Mono<Boolean> renew(String name, String token, Duration lease) {
        return yesOrNo(name, LuaScripts.RENEW, this.<Long>run(LuaScripts.RENEW, ScriptOutputType.INTEGER,
                layout.renewKeys(name), ascii(token), millis(lease)));
    }

    /**
     * {@inheritDoc}
     *
     * <p>A script that Redis did not run fails with a transient {@link RedisException}, as for
     * {@link #renew}: the lock service retries the release, it does not read it as "nothing to release".
     */
    @Override
    public Mono<Boolean> release(String name, String token) {
        // publishArguments is never empty (on a cluster, its INFO answers or fails): an empty answer is the script's
        return yesOrNo(name, LuaScripts.RELEASE, wakeUps.publishArguments(name)
                .flatMap(wake -> this.<Long>run(LuaScripts.RELEASE, ScriptOutputType.INTEGER, layout.acquireKeys(name),
                        ascii(token), wake[0], wake[1])));
    }

    /**
     * The 1-or-0 reply of {@code script} as a boolean, with errors translated; no reply at all is the transient
     * error of {@link #notRun}, since the script always replies when it runs.
     */
    private Mono<Boolean> yesOrNo(String name, LuaScripts.Script script, Mono<Long> reply) {
        return reply.switchIfEmpty(Mono.error(() -> notRun(name, script)))
                .map(n -> n == 1L)
                .onErrorMap(e -> translate(name, e));
    }

    /**
     * The error of a script whose command completed without a reply although the script always replies when it
     * runs: Redis did not run it. Transient: once the caller's transaction ended, the retry runs outside it.
     */
    private RedisException notRun(String name, LuaScripts.Script script) {
        return new RedisException("Lock '" + name + "': " + connections.server() + " did not run " + script.name
                + " (its command completed without a reply, as a command queued in a transaction of the caller on the"
                + " shared command connection does when the transaction is discarded or its EXEC aborted by WATCH)");
    }

    /** {@inheritDoc} A hand-off is emitted as its token too, after {@link #handOffs()} emitted it. */
    /**
     * {@inheritDoc}
     *
     * <p>One script: the lease becomes shared with the next fencing token, then the queued shared requests
     * at the head are handed the lock, as by a release.
     */
    @Override
    public Mono<BackendLease> downgrade(String name, String token, Duration lease) {
        return wakeUps.publishArguments(name)
                .flatMap(wake -> this.<byte[]>run(LuaScripts.DOWNGRADE, ScriptOutputType.VALUE, layout.acquireKeys(name),
                        ascii(token), millis(lease), wake[0], wake[1]))
                .map(reply -> BackendLease.of(name, LockMode.SHARED, token,
                        Long.parseLong(new String(reply, StandardCharsets.US_ASCII).substring(2))))
                .onErrorMap(e -> translate(name, e));
    }

    @Override
    public Flux<String> releases() {
        return signals.map(Signal::wake);
    }

    /**
     * {@inheritDoc}
     *
     * <p>A release that deletes a lease hands the lock off in the same script, to the entries it lets
     * through (each gets a lease ending when its entry would have, and its own fencing token), and publishes
     * each grant on the channel of the backend that queued the entry. A waiter that leaves the queue only
     * wakes the entries behind it.
     */
    @Override
    public Flux<HandOff> handOffs() {
        return signals.filter(s -> s.handOff != null).map(s -> Objects.requireNonNull(s.handOff));
    }

    /** A wake-up message: the token to wake, and the grant when it announces a hand-off. */
    private record Signal(String wake, @Nullable HandOff handOff) {

        static Signal parse(String message) {
            HandOff handOff = HandOff.fromSignal(message);
            return new Signal(handOff == null ? message : handOff.token(), handOff);
        }
    }

    /**
     * @return the lower-case hexadecimal SHA-256 of the name's key bytes; never emitted by
     *         {@link #releases()}, which wakes queued waiters by their tokens
     */
    @Override
    public String signalKey(String name) {
        return Names.digest(Names.encode(name));
    }

    /**
     * Reports every lease stored under this backend's prefix, live or expired but not yet removed, by
     * scanning the lease hashes ({@code SCAN}, never {@code KEYS}; on a cluster, every master). Redis
     * deletes a name's hash when its last lease expires, so expired entries only remain next to a live
     * shared lease of the same name.
     *
     * @return a cold {@code Flux} of the leases, in no particular order
     */
    public Flux<RedisLeaseInfo> leases() {
        return lockKeys().concatMap(key -> this.<byte[]>run(LuaScripts.INSPECT, ScriptOutputType.VALUE, new byte[][] {key})
                .flatMapIterable(reply -> {
                    String name = layout.nameOfLockKey(key);
                    String text = new String(reply, StandardCharsets.UTF_8);
                    List<RedisLeaseInfo> out = new ArrayList<>();
                    if (!text.isEmpty()) {
                        for (String line : text.split("\n")) {
                            String[] f = line.split("\t");
                            out.add(new RedisLeaseInfo(name, f[1].equals("E") ? LockMode.EXCLUSIVE : LockMode.SHARED,
                                    f[0], Long.parseLong(f[2]), Duration.ofMillis(Long.parseLong(f[3]))));
                        }
                    }
                    return out;
                }));
    }

    /**
     * {@inheritDoc}
     *
     * <p>Scans the lock keys of the prefix ({@code SCAN}, never {@code KEYS}), and reads each name with one
     * read-only script judged by the Redis clock: its live leases and the live entries of its wait queue (a
     * walk of the queue's entries, so the cost grows with the queue). Redis records no grant times, so
     * {@link StoredLease#grantedAt()} is empty.
     */
    @Override
    public Flux<StoredLock> locks(String namePrefix) {
        Objects.requireNonNull(namePrefix, "namePrefix");
        return lockKeys()
                .map(layout::nameOfLockKey)
                .filter(name -> name.startsWith(namePrefix))
                .concatMap(this::lockState);
    }

    /** {@inheritDoc} One read-only script on the name's keys, as {@link #locks(String)}. */
    @Override
    public Mono<StoredLock> inspect(String name) {
        Objects.requireNonNull(name, "name");
        return lockState(name);
    }

    private Mono<StoredLock> lockState(String name) {
        byte[][] nameKeys = layout.acquireKeys(name);
        byte[][] keys = {nameKeys[0], nameKeys[2]};
        return this.<byte[]>run(LuaScripts.LOCK_STATE, ScriptOutputType.VALUE, keys)
                .mapNotNull(reply -> {
                    String[] lines = new String(reply, StandardCharsets.UTF_8).split("\n");
                    List<StoredLease> leases = new ArrayList<>();
                    for (int i = 1; i < lines.length; i++) {
                        String[] f = lines[i].split("\t");
                        leases.add(StoredLease.of(f[1].equals("E") ? LockMode.EXCLUSIVE : LockMode.SHARED, f[0],
                                Long.parseLong(f[2]), Instant.ofEpochMilli(Long.parseLong(f[3])), null));
                    }
                    return leases.isEmpty() ? null : StoredLock.of(name, leases, Integer.parseInt(lines[0]));
                })
                .onErrorMap(e -> translate(name, e));
    }

    /**
     * Deletes the expired leases that are still stored (see {@link #leases()}); names without a live
     * lease are already gone by key expiry. Harmless at any time: every acquisition of a name also removes
     * its expired leases first.
     *
     * @return a cold {@code Mono} of the number of expired leases deleted
     */
    public Mono<Long> purgeExpired() {
        return purgeExpired(Duration.ZERO);
    }

    /**
     * Deletes the stored leases that expired at least {@code olderThan} ago by the Redis clock (see
     * {@link #purgeExpired()}).
     *
     * @param olderThan zero or positive; zero deletes every expired lease
     * @return a cold {@code Mono} of the number of leases deleted
     * @throws IllegalArgumentException if {@code olderThan} is negative
     */
    public Mono<Long> purgeExpired(Duration olderThan) {
        if (olderThan.isNegative()) {
            throw new IllegalArgumentException("olderThan must be >= 0, was " + olderThan);
        }
        return lockKeys().concatMap(key -> this.<Long>run(LuaScripts.PRUNE, ScriptOutputType.INTEGER,
                        new byte[][] {key}, millis(olderThan)))
                .reduce(0L, Long::sum);
    }

    /**
     * Stops listening for releases and closes the connections the backend opened. Leases stay in Redis. Close the
     * backend after the lock services that use it are disposed: every operation asked afterwards (an acquisition
     * still waiting, a new one, a renewal) fails with a {@link LockConfigurationException}, which the lock service
     * passes to the caller instead of retrying it.
     */
    @Override
    public Mono<Void> close() {
        return Mono.fromRunnable(() -> {
            closed = true;
            closing.tryEmitEmpty();
        }).then(connections.close());
    }

    @Override
    public String toString() {
        return "RedisLockBackend{keyPrefix=" + config.keyPrefix() + (connections.cluster() ? ", cluster" : "") + "}";
    }

    /** {@code SCAN}s the lock keys (on a cluster, of every master), each page bounded by the command timeout. */
    private Flux<byte[]> lockKeys() {
        ScanArgs args = KeyScanArgs.Builder.limit(200).match(layout.lockPattern());
        return withTimeout("SCAN", c -> c.scan(args))
                .expand(page -> page.isFinished() ? Mono.empty() : withTimeout("SCAN", c -> c.scan(page, args)))
                .concatMapIterable(KeyScanCursor::getKeys);
    }

    /**
     * A duration for a script, in whole milliseconds rounded up: the scripts never make a lease, an entry or the
     * restart grace shorter than asked.
     */
    private static byte[] millis(Duration d) {
        return ascii(Long.toString(d.toMillis() + (d.getNano() % 1_000_000 == 0 ? 0 : 1)));
    }

    private static byte[] ascii(String s) {
        return s.getBytes(StandardCharsets.US_ASCII);
    }

    /** EVALSHA, and EVAL (which also loads the script) when the server does not know the script. */
    private <T> Mono<T> run(LuaScripts.Script script, ScriptOutputType type, byte[][] keys, byte[]... args) {
        if (!probing.get() && probing.compareAndSet(false, true)) {
            probe.subscribe();
        }
        return withTimeout(script.name, c -> c.<T>evalsha(script.sha, type, keys, args)
                .onErrorResume(RedisNoScriptException.class, e -> c.eval(script.source, type, keys, args))
                .next());
    }

    /**
     * Runs {@code command} on the command connection; fails with a transient {@link RedisCommandTimeoutException}
     * when connecting and the command together take longer than {@link RedisLockConfig#commandTimeout()}, and then
     * reports the connection as stalled.
     */
    private <T> Mono<T> withTimeout(String what, Function<RedisClusterReactiveCommands<byte[], byte[]>, Mono<T>> command) {
        Duration timeout = config.commandTimeout();
        AtomicReference<@Nullable RedisClusterReactiveCommands<byte[], byte[]>> used = new AtomicReference<>();
        return Mono.defer(() -> closed ? Mono.error(new Closed()) : connections.commands()).flatMap(c -> {
            used.set(c);
            return command.apply(c).doOnTerminate(connections::answered);
        }).timeout(timeout, Mono.defer(() -> {
            connections.stalled(used.get());   // null: opening the connection stalled
            return Mono.error(new RedisCommandTimeoutException(connections.server() + " did not answer " + what
                    + " within " + timeout.toMillis() + "ms; the connection is suspected to be stalled"));
        }));
    }

    /** An operation asked after {@link #close()}; made permanent, with the lock's name, by {@link #translate}. */
    private static final class Closed extends RuntimeException {
        private static final long serialVersionUID = 1L;

        Closed() {
            super("the Redis lock backend is closed", null, false, false);
        }
    }

    /**
     * Whether a Redis error message carries {@code code}: at its start (Redis 7), or after the script
     * location that Redis 6.2 puts before errors raised inside a script
     * ({@code ERR Error running script ...: @user_script:1: WRONGTYPE ...}).
     */
    static boolean refusal(String message, String code) {
        return message.startsWith(code) || message.contains(": " + code + " ");
    }

    /**
     * Refusals that retrying cannot cure are permanent ({@code LockException}); the rest is transient. A refusal is
     * looked for in the error and its causes: the server refusing the credentials fails the opening of the
     * connection, whose error carries the refusal as its cause.
     */
    private Throwable translate(String name, Throwable error) {
        if (error instanceof Closed) {
            return new LockConfigurationException(name, "Lock '" + name + "': the Redis lock backend is closed (close it"
                    + " after the lock services that use it are disposed)");
        }
        Throwable t = error;
        for (int depth = 0; t != null && depth < 8; depth++, t = t.getCause()) {
            String m = t.getMessage();
            if (t instanceof RedisCommandExecutionException && m != null && (refusal(m, "WRONGTYPE")
                    || refusal(m, "NOPERM") || refusal(m, "NOAUTH") || refusal(m, "WRONGPASS")
                    || m.contains("unknown command"))) {
                LockConfigurationException e = new LockConfigurationException(name, "Lock '" + name
                        + "': Redis refused the lock script under key prefix '" + config.keyPrefix() + "' ("
                        + m + ")");
                e.addSuppressed(error);
                return e;
            }
        }
        return error;
    }
}
