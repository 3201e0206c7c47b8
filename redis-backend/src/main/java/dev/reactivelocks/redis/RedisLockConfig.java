package dev.reactivelocks.redis;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Objects;
import java.util.regex.Pattern;
import org.jspecify.annotations.Nullable;

/**
 * Configuration of a {@link RedisLockBackend}: the key prefix that separates lock spaces, and the grace
 * period after the store lost its data. Immutable; build with {@link #builder()}, start from
 * {@link #defaults()}.
 *
 * <pre>{@code
 * RedisLockConfig config = RedisLockConfig.builder().keyPrefix("billing:locks:").build();
 * }</pre>
 *
 * <p>Under a prefix {@code P} the backend uses the keys {@code P{<name>}:lock} (one per locked name),
 * {@code P{<name>}:wait}, {@code :waiter} and {@code :waitx} (per name with waiters), {@code P{<name>}:fence}
 * (the last fencing token, for one lease after a grant), {@code P{<name>}:permits} (per name used as a semaphore,
 * as long as its leases and queue entries), the string {@code P epoch} (on a cluster one
 * {@code P{<slot tag>}:epoch} per slot; detects that the server lost its data) and the pub/sub channels
 * {@code P wake:<id>} (on a Redis 7 cluster {@code P{<slot tag>}:wake:<id>}) per backend. See
 * {@link RedisLockBackend}.
 */
public final class RedisLockConfig {

    /** Printable ASCII without the glob characters of {@code SCAN MATCH}, hash-tag braces and spaces. */
    private static final Pattern PREFIX = Pattern.compile("[!-~&&[^*?\\[\\]\\\\{}]]{1,200}");
    private static final RedisLockConfig DEFAULTS = new Builder().build();

    private final String keyPrefix;
    private final @Nullable Duration restartGrace;
    private final Duration commandTimeout;
    private final Duration probeInterval;

    private RedisLockConfig(Builder b) {
        this.keyPrefix = b.keyPrefix;
        this.restartGrace = b.restartGrace;
        this.commandTimeout = b.commandTimeout;
        this.probeInterval = b.probeInterval;
    }

    /**
     * @return the defaults: prefix {@code reactivelocks:}, restart grace of one lease, command timeout of 2 seconds,
     *         a health probe every second
     */
    public static RedisLockConfig defaults() {
        return DEFAULTS;
    }

    /** @return a builder starting from the defaults */
    public static Builder builder() {
        return new Builder();
    }

    /** @return a builder starting from this configuration */
    public Builder toBuilder() {
        Builder b = new Builder().keyPrefix(keyPrefix).commandTimeout(commandTimeout).probeInterval(probeInterval);
        if (restartGrace != null) {
            b.restartGrace(restartGrace);
        }
        return b;
    }

    /** @return the prefix of every key and channel of the backend */
    public String keyPrefix() {
        return keyPrefix;
    }

    /**
     * @return the fixed grace period after a data loss, or {@code null} when it is the lease of each
     *         request (the default)
     */
    public @Nullable Duration restartGrace() {
        return restartGrace;
    }

    /**
     * @return how long a command may take before it fails (as a transient error) and its connection is
     *         considered stalled
     */
    public Duration commandTimeout() {
        return commandTimeout;
    }

    /** @return how often the backend checks with {@code PING} that its connections still answer */
    public Duration probeInterval() {
        return probeInterval;
    }

    byte[] prefixBytes() {
        return keyPrefix.getBytes(StandardCharsets.US_ASCII);
    }

    @Override
    public String toString() {
        return "RedisLockConfig{keyPrefix=" + keyPrefix + ", restartGrace="
                + (restartGrace == null ? "lease" : restartGrace) + ", commandTimeout=" + commandTimeout
                + ", probeInterval=" + probeInterval + "}";
    }

    /** Builds a {@link RedisLockConfig}. Not thread-safe. */
    public static final class Builder {

        private String keyPrefix = "reactivelocks:";
        private @Nullable Duration restartGrace;
        private Duration commandTimeout = Duration.ofSeconds(2);
        private Duration probeInterval = Duration.ofSeconds(1);

        private Builder() {
        }

        /**
         * How long one command (a lock script, a {@code PING}) may take. A command that takes longer fails with
         * a transient error ({@link io.lettuce.core.RedisCommandTimeoutException}), which the lock service retries
         * within the caller's timeout, and the connection it was sent on is replaced (when the backend opened
         * it; see {@link RedisLockBackend}). Keep it well below the lease. Defaults to 2 seconds.
         *
         * @param commandTimeout positive
         * @return this builder
         * @throws IllegalArgumentException if not positive
         */
        public Builder commandTimeout(Duration commandTimeout) {
            this.commandTimeout = positive(commandTimeout, "commandTimeout");
            return this;
        }

        /**
         * How often the backend sends {@code PING} on its command connection and on its pub/sub connection, so
         * that a connection that stopped answering is noticed (after {@link #commandTimeout(Duration)}) and
         * replaced even while no lock is asked for. Defaults to 1 second.
         *
         * @param probeInterval positive
         * @return this builder
         * @throws IllegalArgumentException if not positive
         */
        public Builder probeInterval(Duration probeInterval) {
            this.probeInterval = positive(probeInterval, "probeInterval");
            return this;
        }

        private static Duration positive(Duration d, String parameter) {
            Objects.requireNonNull(d, parameter);
            if (d.isNegative() || d.isZero()) {
                throw new IllegalArgumentException(parameter + " must be > 0, was " + d);
            }
            return d;
        }

        /**
         * The prefix of every key and of the pub/sub channel. Services that must exclude each other use the
         * same prefix (and the same Redis); different prefixes are independent lock spaces. 1 to 200
         * printable ASCII characters, no spaces and none of {@code * ? [ ] \ { }} (glob characters of
         * {@code SCAN MATCH}, and the braces of Redis Cluster hash tags). Defaults to {@code reactivelocks:}.
         *
         * @param keyPrefix the prefix
         * @return this builder
         * @throws IllegalArgumentException if the prefix is not such a string
         */
        public Builder keyPrefix(String keyPrefix) {
            Objects.requireNonNull(keyPrefix, "keyPrefix");
            if (!PREFIX.matcher(keyPrefix).matches()) {
                throw new IllegalArgumentException("keyPrefix must be 1 to 200 printable ASCII characters without"
                        + " spaces and without * ? [ ] \\ { }, was '" + keyPrefix + "'");
            }
            this.keyPrefix = keyPrefix;
            return this;
        }

        /**
         * After the server lost its lock data (a restart without persistence, a failover to a replica
         * that never received it, a {@code FLUSHALL}), no lock of this prefix is granted for this long, so
         * that every holder of a lost lease notices the loss (its next renewal fails, or its lease runs
         * out locally) before anyone else is granted the lock. Must be at least the longest lease of the
         * services on this prefix. The loss is detected by a missing {@code <prefix>epoch} key, so the very
         * first use of a prefix waits too. Defaults to the lease of each request
         * ({@link #restartGraceOfLease()}).
         *
         * @param restartGrace the grace period, zero or positive; zero turns the protection off
         * @return this builder
         */
        public Builder restartGrace(Duration restartGrace) {
            Objects.requireNonNull(restartGrace, "restartGrace");
            if (restartGrace.isNegative()) {
                throw new IllegalArgumentException("restartGrace must be >= 0, was " + restartGrace);
            }
            this.restartGrace = restartGrace;
            return this;
        }

        /**
         * The grace period after a data loss is the lease of each acquisition request (the default), which
         * is right when all services on the prefix use the same lease.
         *
         * @return this builder
         */
        public Builder restartGraceOfLease() {
            this.restartGrace = null;
            return this;
        }

        /** @return the configuration */
        public RedisLockConfig build() {
            return new RedisLockConfig(this);
        }
    }
}
