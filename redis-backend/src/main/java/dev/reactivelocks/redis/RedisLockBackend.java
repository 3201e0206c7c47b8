package dev.reactivelocks.redis;

import dev.reactivelocks.LockConfigurationException;
import dev.reactivelocks.LockMode;
import dev.reactivelocks.spi.BackendLease;
import dev.reactivelocks.spi.LockBackend;
import dev.reactivelocks.spi.StoredLease;
import dev.reactivelocks.spi.StoredLock;
import io.lettuce.core.KeyScanArgs;
import io.lettuce.core.RedisClient;
import io.lettuce.core.RedisCommandExecutionException;
import io.lettuce.core.RedisNoScriptException;
import io.lettuce.core.RedisURI;
import io.lettuce.core.ScanStream;
import io.lettuce.core.ScriptOutputType;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.codec.ByteArrayCodec;
import io.lettuce.core.pubsub.RedisPubSubAdapter;
import io.lettuce.core.pubsub.StatefulRedisPubSubConnection;
import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.atomic.AtomicReference;
import org.jspecify.annotations.Nullable;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import reactor.core.publisher.Sinks;
import reactor.util.retry.Retry;

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
 * <p><b>Keys</b> (prefix {@code P}, see {@link RedisLockConfig}): a hash {@code P lock:<name>} per locked
 * name maps each owner token to {@code mode:fencing:expiresAtMillis}, and the key expires with its last
 * lease; the wait queue of a name is the sorted set {@code P wait:<name>} (tokens scored by their ticket,
 * in arrival order) with the hash {@code P waiter:<name>} (token to {@code mode:expiresAtMillis:backendId})
 * and the sorted set {@code P waitx:<name>} (the exclusive entries, by ticket), all expiring with their last
 * entry; {@code P fence:<name>} is the name's fencing counter and never expires; {@code P epoch}
 * marks that the server still has the data. A name that is neither held nor waited for leaves only its
 * fencing counter behind. Names are binary-safe key bytes (UTF-8, unpaired surrogates included), so
 * names of any characters and length are stored verbatim. Standalone Redis or Sentinel; not Redis Cluster
 * (the keys of one name are not in one hash slot).
 *
 * <p><b>Atomicity</b>: acquisition, renewal and release are each one Lua script, loaded once and run with
 * {@code EVALSHA} ({@code EVAL} when the server answers {@code NOSCRIPT}, for example after a restart).
 * Expiry is judged by the Redis server clock ({@code TIME}), never by the clients' clocks; expired leases
 * leases and queue entries are removed by the next script that touches the name.
 *
 * <p><b>Fencing tokens</b>: {@code max(INCR P fence:<name>, TIME in microseconds)}, so they increase
 * strictly per name, and still increase after the counter was lost in a restart (as long as the new
 * server's clock is not behind the old one's).
 *
 * <p><b>Data loss</b>: when {@code P epoch} is missing the server lost its lock data (or the prefix is
 * new): the first acquisition writes it, and no lock of the prefix is granted during
 * {@link RedisLockConfig#restartGrace()} (by default one lease), so that holders of lost leases learn the
 * loss before anyone else is granted their lock.
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
 * subscribed to its own channel {@code P wake:<id>}, shared by every subscriber of this backend (one per
 * service, whatever the number of waiters and names). A release, or an acquisition that found expired
 * leases or entries, publishes the token of each queued entry that may now pass on the channel of the
 * backend that queued it: one message per hand-off, received by one process. Lettuce re-subscribes after a
 * reconnection, and every (re)subscription emits {@link LockBackend#ANY_RELEASE}.
 *
 * <p><b>Threading</b>: nothing blocks; results are signalled on Lettuce's event loop.
 */
public final class RedisLockBackend implements LockBackend {

    private static final ByteArrayCodec CODEC = ByteArrayCodec.INSTANCE;
    private static final byte[] LOCK = "lock:".getBytes(StandardCharsets.US_ASCII);
    private static final byte[] FENCE = "fence:".getBytes(StandardCharsets.US_ASCII);
    private static final byte[] QUEUE = "wait:".getBytes(StandardCharsets.US_ASCII);
    private static final byte[] ENTRIES = "waiter:".getBytes(StandardCharsets.US_ASCII);
    private static final byte[] EXCLUSIVE = "waitx:".getBytes(StandardCharsets.US_ASCII);
    private static final byte[] EMPTY = new byte[0];

    private static final String NOW = "local t = redis.call('TIME')\n"
            + "local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)\n";

    /**
     * Lua functions shared by the acquisition and release scripts. KEYS[1] is the lease hash, KEYS[2] the
     * queue (sorted set: token by ticket, in arrival order), KEYS[3] the queue entries (hash: token to
     * {@code mode:expiresAtMillis:backendId}), KEYS[4] the exclusive entries (sorted set: token by ticket);
     * a set of modes is a table {@code {n = count, e = exclusive count}}.
     *
     * <p>No function reads the whole queue: a dead entry (expired, or its hash field gone) is removed when
     * it is met at the head of the queue or of the exclusive entries, so each entry is removed once and
     * every call costs O(log n) in the queue length, amortised.
     */
    private static final String QUEUE_FUNCTIONS = NOW
            + "local function add(set, mode)\n"
            + "  set.n = set.n + 1\n"
            + "  if mode == 'E' then set.e = set.e + 1 end\n"
            + "end\n"
            // mode fits next to every mode of each set: a set is empty, or all are shared
            + "local function fits(mode, held, ahead)\n"
            + "  for _, set in ipairs({held, ahead}) do\n"
            + "    if set.n > 0 and (mode == 'E' or set.e > 0) then return false end\n"
            + "  end\n"
            + "  return true\n"
            + "end\n"
            // deletes expired leases; returns the modes of the live leases of others, ours, max expiry, pruned
            + "local function leases(token)\n"
            + "  local entries = redis.call('HGETALL', KEYS[1])\n"
            + "  local held, mine, others, pruned = {n = 0, e = 0}, nil, 0, false\n"
            + "  for i = 1, #entries, 2 do\n"
            + "    local mode, fence, exp = string.match(entries[i + 1], '^(%a):(%d+):(%d+)$')\n"
            + "    exp = tonumber(exp)\n"
            + "    if exp <= now then\n"
            + "      redis.call('HDEL', KEYS[1], entries[i])\n"
            + "      pruned = true\n"
            + "    elseif entries[i] == token then\n"
            + "      mine = mode .. ':' .. fence\n"
            + "    else\n"
            + "      add(held, mode)\n"
            + "      if exp > others then others = exp end\n"
            + "    end\n"
            + "  end\n"
            + "  return held, mine, others, pruned\n"
            + "end\n"
            + "local function dequeue(token)\n"
            + "  redis.call('ZREM', KEYS[2], token)\n"
            + "  redis.call('ZREM', KEYS[4], token)\n"
            + "  return redis.call('HDEL', KEYS[3], token)\n"
            + "end\n"
            // the live entry of token: mode, owner; nil when it is missing or expired
            + "local function live(token)\n"
            + "  local entry = redis.call('HGET', KEYS[3], token)\n"
            + "  if not entry then return nil end\n"
            + "  local mode, exp, owner = string.match(entry, '^(%a):(%d+):(.*)$')\n"
            + "  if tonumber(exp) <= now then return nil end\n"
            + "  return mode, owner\n"
            + "end\n"
            // the first live token of the sorted set and its ticket, removing the dead ones before it; pruned
            + "local function first(key)\n"
            + "  local pruned = false\n"
            + "  while true do\n"
            + "    local head = redis.call('ZRANGE', key, 0, 0, 'WITHSCORES')\n"
            + "    if #head == 0 then return nil, nil, pruned end\n"
            + "    if live(head[1]) then return head[1], tonumber(head[2]), pruned end\n"
            + "    dequeue(head[1])\n"
            + "    pruned = true\n"
            + "  end\n"
            + "end\n"
            // publishes the token of each entry that may pass now (the head, or a run of shared entries)
            + "local function wake(held, channel)\n"
            + "  local ahead, i = {n = 0, e = 0}, 0\n"
            + "  while true do\n"
            + "    local at = redis.call('ZRANGE', KEYS[2], i, i)\n"
            + "    if #at == 0 then return end\n"
            + "    local mode, owner = live(at[1])\n"
            + "    if mode then\n"
            + "      if not fits(mode, held, ahead) then return end\n"
            + "      redis.call('PUBLISH', channel .. owner, at[1])\n"
            + "      add(ahead, mode)\n"
            + "      i = i + 1\n"
            + "    else\n"
            + "      dequeue(at[1])\n"
            + "    end\n"
            + "  end\n"
            + "end\n"
            + "local function expireAtLeast(key, at)\n"
            + "  local ttl = redis.call('PTTL', key)\n"
            + "  if ttl < 0 or now + ttl < at then\n"
            + "    redis.call('PEXPIREAT', key, string.format('%.0f', at))\n"
            + "  end\n"
            + "end\n";

    /**
     * KEYS: lock, queue, queue entries, exclusive entries, fence, epoch. ARGV: token, mode (E/S), lease ms,
     * grace ms, keepQueued ms (0: never queue), wake channel prefix, this backend's id. Returns
     * "mode:fencing", or nil when busy.
     *
     * <p>A queued caller refreshes its entry first. While a live lease conflicts, that is all (O(1) in the
     * queue length). Otherwise an exclusive request passes when it is the first live entry of the queue
     * (or, not queued, when there is none), a shared one when the first live exclusive entry is behind it
     * (or there is none); the dead entries met at those heads are removed.
     */
    static final Script ACQUIRE = new Script(QUEUE_FUNCTIONS
            + "local token, mode, lease, keep = ARGV[1], ARGV[2], tonumber(ARGV[3]), tonumber(ARGV[5])\n"
            + "local epoch = redis.call('GET', KEYS[6])\n"
            + "if not epoch then\n"
            + "  epoch = now\n"
            + "  redis.call('SET', KEYS[6], string.format('%.0f', now))\n"
            + "else\n"
            + "  epoch = tonumber(epoch)\n"
            + "end\n"
            + "local held, mine, others, leasesPruned = leases(token)\n"
            + "if not mine then\n"
            + "  local ticket = tonumber(redis.call('ZSCORE', KEYS[2], token) or nil)\n"
            + "  local deadline = now + keep\n"
            + "  local entry = mode .. ':' .. string.format('%.0f', deadline) .. ':' .. ARGV[7]\n"
            + "  if ticket and keep > 0 then redis.call('HSET', KEYS[3], token, entry) end\n"
            + "  local grace = now < epoch + tonumber(ARGV[4])\n"
            + "  local pass, queuePruned = false, false\n"
            + "  if not grace and fits(mode, held, {n = 0, e = 0}) then\n"
            + "    local head, headTicket\n"
            + "    if mode == 'E' then\n"
            + "      head, headTicket, queuePruned = first(KEYS[2])\n"
            + "      pass = head == nil or head == token\n"
            + "    else\n"
            + "      head, headTicket, queuePruned = first(KEYS[4])\n"
            + "      pass = head == nil or (ticket ~= nil and headTicket > ticket)\n"
            + "    end\n"
            + "  end\n"
            + "  if pass then\n"
            + "    local f = redis.call('INCR', KEYS[5])\n"
            + "    local floor = tonumber(t[1]) * 1000000 + tonumber(t[2])\n"
            + "    if f < floor then\n"
            + "      f = floor\n"
            + "      redis.call('SET', KEYS[5], string.format('%.0f', f))\n"
            + "    end\n"
            + "    mine = mode .. ':' .. string.format('%.0f', f)\n"
            + "    add(held, mode)\n"
            + "    if ticket then dequeue(token) end\n"
            + "  elseif keep > 0 then\n"
            + "    if not ticket then\n"
            + "      local last = redis.call('ZRANGE', KEYS[2], -1, -1, 'WITHSCORES')\n"
            + "      ticket = (#last > 0 and tonumber(last[2]) or 0) + 1\n"
            + "      local score = string.format('%.0f', ticket)\n"
            + "      redis.call('ZADD', KEYS[2], score, token)\n"
            + "      if mode == 'E' then redis.call('ZADD', KEYS[4], score, token) end\n"
            + "      redis.call('HSET', KEYS[3], token, entry)\n"
            + "    end\n"
            + "    expireAtLeast(KEYS[2], deadline)\n"
            + "    expireAtLeast(KEYS[3], deadline)\n"
            + "    expireAtLeast(KEYS[4], deadline)\n"
            + "  end\n"
            + "  if not grace and (leasesPruned or queuePruned) then wake(held, ARGV[6]) end\n"
            + "  if not mine then return false end\n"
            + "end\n"
            + "local expires = now + lease\n"
            + "redis.call('HSET', KEYS[1], token, mine .. ':' .. string.format('%.0f', expires))\n"
            + "redis.call('PEXPIREAT', KEYS[1], string.format('%.0f', math.max(expires, others)))\n"
            + "return mine\n");

    /** KEYS: lock. ARGV: token, lease ms. Returns 1 when the live lease was extended, else 0. */
    static final Script RENEW = new Script("local v = redis.call('HGET', KEYS[1], ARGV[1])\n"
            + "if not v then return 0 end\n"
            + NOW
            + "local head, exp = string.match(v, '^(%a:%d+):(%d+)$')\n"
            + "if tonumber(exp) <= now then\n"
            + "  redis.call('HDEL', KEYS[1], ARGV[1])\n"
            + "  return 0\n"
            + "end\n"
            + "local expires = now + tonumber(ARGV[2])\n"
            + "redis.call('HSET', KEYS[1], ARGV[1], head .. ':' .. string.format('%.0f', expires))\n"
            + "local ttl = redis.call('PTTL', KEYS[1])\n"
            + "if ttl < 0 or now + ttl < expires then\n"
            + "  redis.call('PEXPIREAT', KEYS[1], string.format('%.0f', expires))\n"
            + "end\n"
            + "return 1\n");

    /**
     * KEYS: lock, queue, queue entries, exclusive entries. ARGV: token, wake channel prefix. Deletes the
     * token's lease and queue entry, then wakes the entries that may now pass. Returns 1 when the token's
     * lease was deleted.
     */
    static final Script RELEASE = new Script(QUEUE_FUNCTIONS
            + "local removed = redis.call('HDEL', KEYS[1], ARGV[1])\n"
            + "local dequeued = dequeue(ARGV[1])\n"
            + "if (removed == 1 or dequeued == 1) and redis.call('EXISTS', KEYS[2]) == 1 then\n"
            + "  local held = leases('')\n"
            + "  wake(held, ARGV[2])\n"
            + "end\n"
            + "return removed\n");

    /** KEYS: lock. Returns lines "token TAB mode TAB fencing TAB remainingMs". */
    static final Script INSPECT = new Script(NOW
            + "local entries = redis.call('HGETALL', KEYS[1])\n"
            + "local out = {}\n"
            + "for i = 1, #entries, 2 do\n"
            + "  local mode, fence, exp = string.match(entries[i + 1], '^(%a):(%d+):(%d+)$')\n"
            + "  out[#out + 1] = entries[i] .. '\\t' .. mode .. '\\t' .. fence .. '\\t'"
            + " .. string.format('%.0f', tonumber(exp) - now)\n"
            + "end\n"
            + "return table.concat(out, '\\n')\n");

    /**
     * Inspection, read-only. KEYS: lock, queue entries. Returns the number of live queue entries, then one
     * line "token TAB mode TAB fencing TAB expiresAtMillis" per live lease.
     */
    static final Script LOCK_STATE = new Script(NOW
            + "local waiting = 0\n"
            + "for _, v in ipairs(redis.call('HVALS', KEYS[2])) do\n"
            + "  local exp = string.match(v, '^%a:(%d+):')\n"
            + "  if exp and tonumber(exp) > now then waiting = waiting + 1 end\n"
            + "end\n"
            + "local out = {tostring(waiting)}\n"
            + "local entries = redis.call('HGETALL', KEYS[1])\n"
            + "for i = 1, #entries, 2 do\n"
            + "  local mode, fence, exp = string.match(entries[i + 1], '^(%a):(%d+):(%d+)$')\n"
            + "  if exp and tonumber(exp) > now then\n"
            + "    out[#out + 1] = entries[i] .. '\\t' .. mode .. '\\t' .. fence .. '\\t' .. exp\n"
            + "  end\n"
            + "end\n"
            + "return table.concat(out, '\\n')\n");

    /** KEYS: lock. Deletes the expired leases of the name; returns how many. */
    static final Script PRUNE = new Script(NOW
            + "local entries = redis.call('HGETALL', KEYS[1])\n"
            + "local n = 0\n"
            + "for i = 1, #entries, 2 do\n"
            + "  local exp = string.match(entries[i + 1], ':(%d+)$')\n"
            + "  if tonumber(exp) <= now then\n"
            + "    redis.call('HDEL', KEYS[1], entries[i])\n"
            + "    n = n + 1\n"
            + "  end\n"
            + "end\n"
            + "return n\n");

    private final RedisLockConfig config;
    private final Connections connections;
    private final byte[] prefix;
    private final byte[] epochKey;
    /** This backend's id in queue entries: waking an entry publishes its token on {@code wakePrefix + id}. */
    private final byte[] id;
    private final byte[] wakePrefix;
    private final byte[] channel;
    private final Sinks.Empty<Void> closing = Sinks.empty();
    private final Flux<String> releases;

    private RedisLockBackend(Connections connections, RedisLockConfig config) {
        this.config = config;
        this.connections = connections;
        this.prefix = config.prefixBytes();
        this.epochKey = Names.concat(prefix, "epoch".getBytes(StandardCharsets.US_ASCII), EMPTY);
        this.id = ascii(Long.toHexString(new SecureRandom().nextLong()));
        this.wakePrefix = Names.concat(prefix, "wake:".getBytes(StandardCharsets.US_ASCII), EMPTY);
        this.channel = Names.concat(wakePrefix, id, EMPTY);
        this.releases = listen().takeUntilOther(closing.asMono()).publish().refCount(1);
    }

    /**
     * A backend that opens its own two connections with {@code client} to {@code uri}: one for commands
     * (opened at the first operation) and one for pub/sub (opened while {@link #releases()} has
     * subscribers). Connecting never blocks. {@link #close()} closes both; the client stays open.
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
        return new RedisLockBackend(new ClientConnections(client, uri), config);
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
     * A backend on connections the caller opened (with {@link ByteArrayCodec}) and keeps owning:
     * {@code commands} may be shared with the application, {@code subscriptions} is used to subscribe to
     * the backend's channel (other subscriptions on it are left alone). {@link #close()} unsubscribes but
     * closes neither.
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
        return new RedisLockBackend(new GivenConnections(commands, subscriptions), config);
    }

    /** @return the configuration */
    public RedisLockConfig config() {
        return config;
    }

    @Override
    public Mono<BackendLease> tryAcquire(String name, LockMode mode, String token, Duration lease) {
        return acquire(name, mode, token, lease, Duration.ZERO);
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
        if (keepQueued.isNegative() || keepQueued.isZero()) {
            throw new IllegalArgumentException("keepQueued must be > 0, was " + keepQueued);
        }
        return acquire(name, mode, token, lease, keepQueued);
    }

    /** Runs {@link #ACQUIRE}; a zero {@code keepQueued} never queues. */
    private Mono<BackendLease> acquire(String name, LockMode mode, String token, Duration lease,
                                       Duration keepQueued) {
        byte[] encoded = Names.encode(name);
        long grace = config.restartGrace() == null ? lease.toMillis() : config.restartGrace().toMillis();
        byte[][] keys = queueKeys(encoded, Names.concat(prefix, FENCE, encoded), epochKey);
        return this.<byte[]>run(ACQUIRE, ScriptOutputType.VALUE, keys, ascii(token),
                        ascii(mode == LockMode.EXCLUSIVE ? "E" : "S"), millis(lease), millis(Duration.ofMillis(grace)),
                        millis(keepQueued), wakePrefix, id)
                .map(reply -> {
                    String s = new String(reply, StandardCharsets.US_ASCII);
                    LockMode granted = s.charAt(0) == 'E' ? LockMode.EXCLUSIVE : LockMode.SHARED;
                    return BackendLease.of(name, granted, token, Long.parseLong(s.substring(2)));
                })
                .onErrorMap(e -> translate(name, e));
    }

    @Override
    public Mono<Boolean> renew(String name, String token, Duration lease) {
        byte[][] keys = {lockKey(Names.encode(name))};
        return this.<Long>run(RENEW, ScriptOutputType.INTEGER, keys, ascii(token), millis(lease))
                .map(n -> n == 1L)
                .defaultIfEmpty(Boolean.FALSE)
                .onErrorMap(e -> translate(name, e));
    }

    @Override
    public Mono<Boolean> release(String name, String token) {
        byte[] encoded = Names.encode(name);
        byte[][] keys = queueKeys(encoded);
        return this.<Long>run(RELEASE, ScriptOutputType.INTEGER, keys, ascii(token), wakePrefix)
                .map(n -> n == 1L)
                .defaultIfEmpty(Boolean.FALSE)
                .onErrorMap(e -> translate(name, e));
    }

    @Override
    public Flux<String> releases() {
        return releases;
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
     * scanning the lock keys ({@code SCAN}, never {@code KEYS}). Redis deletes a name's hash when its
     * last lease expires, so expired entries only remain next to a live shared lease of the same name.
     * Fencing counters ({@code P fence:<name>}) are not reported: they are kept forever on purpose.
     *
     * @return a cold {@code Flux} of the leases, in no particular order
     */
    public Flux<RedisLeaseInfo> leases() {
        int nameStart = prefix.length + LOCK.length;
        return lockKeys().concatMap(key -> this.<byte[]>run(INSPECT, ScriptOutputType.VALUE, new byte[][] {key})
                .flatMapIterable(reply -> {
                    String name = Names.decode(key, nameStart);
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
                .filter(key -> nameOf(key).startsWith(namePrefix))
                .concatMap(key -> lockState(nameOf(key)));
    }

    /** {@inheritDoc} One read-only script on the name's keys, as {@link #locks(String)}. */
    @Override
    public Mono<StoredLock> inspect(String name) {
        Objects.requireNonNull(name, "name");
        return lockState(name);
    }

    private Mono<StoredLock> lockState(String name) {
        byte[][] queueKeys = queueKeys(Names.encode(name));
        byte[][] keys = {queueKeys[0], queueKeys[2]};
        return this.<byte[]>run(LOCK_STATE, ScriptOutputType.VALUE, keys)
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

    private String nameOf(byte[] lockKey) {
        return Names.decode(lockKey, prefix.length + LOCK.length);
    }

    /**
     * Deletes the expired leases that are still stored (see {@link #leases()}); names without a live
     * lease are already gone by key expiry. Harmless at any time: every acquisition of a name also removes
     * its expired leases first.
     *
     * @return a cold {@code Mono} of the number of expired leases deleted
     */
    public Mono<Long> purgeExpired() {
        return lockKeys().concatMap(key -> this.<Long>run(PRUNE, ScriptOutputType.INTEGER, new byte[][] {key}))
                .reduce(0L, Long::sum);
    }

    /** Stops listening for releases and closes the connections the backend opened. Leases stay in Redis. */
    @Override
    public Mono<Void> close() {
        return Mono.fromRunnable(closing::tryEmitEmpty).then(connections.close());
    }

    @Override
    public String toString() {
        return "RedisLockBackend{keyPrefix=" + config.keyPrefix() + "}";
    }

    private Flux<byte[]> lockKeys() {
        byte[] pattern = Names.concat(prefix, LOCK, "*".getBytes(StandardCharsets.US_ASCII));
        return connections.commands().flatMapMany(c -> ScanStream.scan(c.reactive(),
                KeyScanArgs.Builder.limit(200).match(pattern)));
    }

    /** The lease hash and the three queue keys of a name, then {@code more}: KEYS of the queue scripts. */
    private byte[][] queueKeys(byte[] encodedName, byte[]... more) {
        byte[][] keys = Arrays.copyOf(new byte[][] {lockKey(encodedName), Names.concat(prefix, QUEUE, encodedName),
                Names.concat(prefix, ENTRIES, encodedName), Names.concat(prefix, EXCLUSIVE, encodedName)}, 4 + more.length);
        System.arraycopy(more, 0, keys, 4, more.length);
        return keys;
    }

    private byte[] lockKey(byte[] encodedName) {
        return Names.concat(prefix, LOCK, encodedName);
    }

    private static byte[] millis(Duration d) {
        return ascii(Long.toString(d.toMillis()));
    }

    private static byte[] ascii(String s) {
        return s.getBytes(StandardCharsets.US_ASCII);
    }

    /** EVALSHA, and EVAL (which also loads the script) when the server does not know the script. */
    private <T> Mono<T> run(Script script, ScriptOutputType type, byte[][] keys, byte[]... args) {
        return connections.commands().flatMap(c -> c.reactive().<T>evalsha(script.sha, type, keys, args)
                .onErrorResume(RedisNoScriptException.class, e -> c.reactive().eval(script.source, type, keys, args))
                .next());
    }

    /** Refusals that retrying cannot cure are permanent ({@code LockException}); the rest is transient. */
    /**
     * Whether a Redis error message carries {@code code}: at its start (Redis 7), or after the script
     * location that Redis 6.2 puts before errors raised inside a script
     * ({@code ERR Error running script ...: @user_script:1: WRONGTYPE ...}).
     */
    static boolean refusal(String message, String code) {
        return message.startsWith(code) || message.contains(": " + code + " ");
    }

    private Throwable translate(String name, Throwable error) {
        if (error instanceof RedisCommandExecutionException && error.getMessage() != null) {
            String m = error.getMessage();
            if (refusal(m, "WRONGTYPE") || refusal(m, "NOPERM") || refusal(m, "NOAUTH")
                    || refusal(m, "WRONGPASS") || m.contains("unknown command")) {
                LockConfigurationException e = new LockConfigurationException(name, "Lock '" + name
                        + "': Redis refused the lock script under key prefix '" + config.keyPrefix() + "' ("
                        + m + ")");
                e.addSuppressed(error);
                return e;
            }
        }
        return error;
    }

    /**
     * This backend's wake channel for as long as there are subscribers: emits ANY_RELEASE at each
     * (re)subscription, then the tokens published on the channel.
     */
    private Flux<String> listen() {
        return Flux.usingWhen(connections.openSubscriptions(),
                        c -> Flux.<String>create(sink -> {
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
                                        sink.next(ANY_RELEASE);
                                    }
                                }
                            };
                            c.addListener(listener);
                            sink.onDispose(() -> c.removeListener(listener));
                            c.reactive().subscribe(channel).subscribe(null, sink::error);
                        }),
                        c -> connections.closeSubscriptions(c, channel),
                        (c, error) -> connections.closeSubscriptions(c, channel),
                        c -> connections.closeSubscriptions(c, channel))
                .retryWhen(Retry.backoff(Long.MAX_VALUE, Duration.ofMillis(100)).maxBackoff(Duration.ofSeconds(2)));
    }

    /** A Lua script with its SHA-1 digest, computed once. */
    static final class Script {
        final String source;
        final String sha;

        Script(String source) {
            this.source = source;
            this.sha = Names.sha1(source.getBytes(StandardCharsets.UTF_8));
        }
    }

    /** Where the connections come from, and who closes them. */
    private interface Connections {
        Mono<StatefulRedisConnection<byte[], byte[]>> commands();

        Mono<StatefulRedisPubSubConnection<byte[], byte[]>> openSubscriptions();

        Mono<Void> closeSubscriptions(StatefulRedisPubSubConnection<byte[], byte[]> c, byte[] channel);

        Mono<Void> close();
    }

    /** Connections opened (without blocking) and closed by the backend. */
    private static final class ClientConnections implements Connections {
        private final RedisClient client;
        private final RedisURI uri;
        private final AtomicReference<@Nullable StatefulRedisConnection<byte[], byte[]>> opened = new AtomicReference<>();
        private final Mono<StatefulRedisConnection<byte[], byte[]>> commands;

        ClientConnections(RedisClient client, RedisURI uri) {
            this.client = client;
            this.uri = uri;
            this.commands = Mono.fromCompletionStage(() -> client.connectAsync(CODEC, uri))
                    .doOnNext(opened::set)
                    .cache(v -> Duration.ofMillis(Long.MAX_VALUE), error -> Duration.ZERO,
                            () -> Duration.ZERO);
        }

        @Override
        public Mono<StatefulRedisConnection<byte[], byte[]>> commands() {
            return commands;
        }

        @Override
        public Mono<StatefulRedisPubSubConnection<byte[], byte[]>> openSubscriptions() {
            return Mono.fromCompletionStage(() -> client.connectPubSubAsync(CODEC, uri));
        }

        @Override
        public Mono<Void> closeSubscriptions(StatefulRedisPubSubConnection<byte[], byte[]> c, byte[] channel) {
            return Mono.fromCompletionStage(c::closeAsync).onErrorResume(e -> Mono.empty());
        }

        @Override
        public Mono<Void> close() {
            return Mono.defer(() -> {
                StatefulRedisConnection<byte[], byte[]> c = opened.getAndSet(null);
                return c == null ? Mono.empty()
                        : Mono.fromCompletionStage(c::closeAsync).onErrorResume(e -> Mono.empty());
            });
        }
    }

    /** Connections owned by the caller. */
    private static final class GivenConnections implements Connections {
        private final Mono<StatefulRedisConnection<byte[], byte[]>> commands;
        private final StatefulRedisPubSubConnection<byte[], byte[]> subscriptions;

        GivenConnections(StatefulRedisConnection<byte[], byte[]> commands,
                         StatefulRedisPubSubConnection<byte[], byte[]> subscriptions) {
            this.commands = Mono.just(commands);
            this.subscriptions = subscriptions;
        }

        @Override
        public Mono<StatefulRedisConnection<byte[], byte[]>> commands() {
            return commands;
        }

        @Override
        public Mono<StatefulRedisPubSubConnection<byte[], byte[]>> openSubscriptions() {
            return Mono.just(subscriptions);
        }

        @Override
        public Mono<Void> closeSubscriptions(StatefulRedisPubSubConnection<byte[], byte[]> c, byte[] channel) {
            return c.reactive().unsubscribe(channel).onErrorResume(e -> Mono.empty());
        }

        @Override
        public Mono<Void> close() {
            return Mono.empty();
        }
    }
}
