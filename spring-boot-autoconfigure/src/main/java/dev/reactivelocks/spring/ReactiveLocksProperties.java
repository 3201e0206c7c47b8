package dev.reactivelocks.spring;

import java.nio.file.Path;
import java.time.Duration;
import org.jspecify.annotations.Nullable;
import org.springframework.boot.context.properties.ConfigurationProperties;

/**
 * The {@code reactive-locks.*} properties: which {@link dev.reactivelocks.LockService} the auto-configuration
 * creates and how. Unset properties keep the library's defaults; a property that does not apply to the
 * chosen {@link #getType() type} fails the startup instead of being ignored.
 */
@ConfigurationProperties(prefix = ReactiveLocksProperties.PREFIX)
public class ReactiveLocksProperties {

    /** The prefix of every property of this library. */
    public static final String PREFIX = "reactive-locks";

    /** Whether to auto-configure the LockService bean and the @WithLock annotation. */
    private boolean enabled = true;

    /** Which lock service to create: in-process (default), file, postgres or redis. */
    private Type type = Type.IN_PROCESS;

    /**
     * How long a @WithLock method whose annotation sets no timeout waits for its lock. Unset: as
     * long as it takes. Does not change calls made on the LockService bean directly.
     */
    private @Nullable Duration defaultTimeout;

    /** A prefix for every lock name of the service (prefix-name), to keep applications sharing a backend apart. */
    private @Nullable String prefix;

    /**
     * The most acquisitions that may wait at once, per lock name (in-process only); more fail with
     * LockUnavailableException. Unset: unbounded.
     */
    private @Nullable Integer maxPending;

    /**
     * How long a distributed grant lives without renewal: a holder that stops renewing loses the lock this
     * long after its last renewal (postgres and redis only); at least 1ms. Unset: 30 seconds.
     */
    private @Nullable Duration lease;

    /**
     * How often held distributed locks renew their lease; less than the lease (postgres and redis only). Unset: a
     * third of the lease.
     */
    private @Nullable Duration renewEvery;

    /**
     * The longest a distributed waiter sleeps between attempts when no release signal arrives (postgres and
     * redis only). Unset: the smaller of 1 second and a quarter of the lease.
     */
    private @Nullable Duration pollInterval;

    /**
     * When the application context closes, how long locks still held by running scopes may stay held before
     * they are released anyway. Pending acquisitions fail at once with LockServiceClosedException.
     */
    private Duration shutdownTimeout = Duration.ofSeconds(10);

    private final File file = new File();
    private final Postgres postgres = new Postgres();
    private final Redis redis = new Redis();
    private final Metrics metrics = new Metrics();

    /** Creates the properties, all unset or at their defaults; Spring Boot binds them. */
    public ReactiveLocksProperties() {
    }

    /** The kinds of lock service the auto-configuration creates. */
    public enum Type {
        /** {@code LockService.inProcess()}: locks inside this JVM only. */
        IN_PROCESS,
        /** {@code FileLockService}: POSIX record locks on files, shared with other processes of this host. */
        FILE,
        /** A distributed service on PostgreSQL through the application's R2DBC {@code ConnectionFactory}. */
        POSTGRES,
        /** A distributed service on Redis through Lettuce. */
        REDIS;

        /** @return the property value that selects this type */
        public String value() {
            return name().toLowerCase(java.util.Locale.ROOT).replace('_', '-');
        }
    }

    /** {@code reactive-locks.file.*}: the file lock service. */
    public static class File {

        /** Creates the file lock service properties, all unset or at their defaults; Spring Boot binds them. */
        public File() {
        }

        /** The directory of the lock files; required with type=file. Created when missing. */
        private @Nullable Path directory;

        /** @return {@code reactive-locks.file.directory}: the directory of the lock files, or null when unset */
        public @Nullable Path getDirectory() {
            return directory;
        }

        /** @param directory the directory of the lock files */
        public void setDirectory(@Nullable Path directory) {
            this.directory = directory;
        }
    }

    /** {@code reactive-locks.postgres.*}: the PostgreSQL backend. */
    public static class Postgres {

        /** Creates the PostgreSQL backend properties, all unset or at their defaults; Spring Boot binds them. */
        public Postgres() {
        }

        /** The lease table, optionally schema-qualified, lower-case. Unset: reactive_locks. */
        private @Nullable String table;

        /** Whether the backend creates its table, sequence, queue table and functions when missing. Unset: true. */
        private @Nullable Boolean createTable;

        /** @return {@code reactive-locks.postgres.table}: the lease table, or null for the backend's default */
        public @Nullable String getTable() {
            return table;
        }

        /** @param table the lease table, optionally schema-qualified, lower-case */
        public void setTable(@Nullable String table) {
            this.table = table;
        }

        /**
         * @return {@code reactive-locks.postgres.create-table}: whether the backend creates its schema objects, or
         *         null for the backend's default (true)
         */
        public @Nullable Boolean getCreateTable() {
            return createTable;
        }

        /**
         * @param createTable whether the backend creates its table, sequence, queue table and functions when
         *         missing
         */
        public void setCreateTable(@Nullable Boolean createTable) {
            this.createTable = createTable;
        }
    }

    /** {@code reactive-locks.redis.*}: the Redis backend. */
    public static class Redis {

        /** Creates the Redis backend properties, all unset or at their defaults; Spring Boot binds them. */
        public Redis() {
        }

        /**
         * The Redis server every service that must exclude this one uses, e.g. redis://127.0.0.1:6379. Connections
         * are opened with the application's Lettuce RedisClient bean, or with a client of this library's own (shut
         * down with the context) when there is none. Unset: the server of the application's Spring Data Redis
         * LettuceConnectionFactory (standalone, Sentinel or Unix socket), through the factory's client; required
         * when there is no such factory.
         */
        private @Nullable String url;

        /** The prefix of every Redis key of the backend. Unset: the backend's default. */
        private @Nullable String keyPrefix;

        /**
         * After the server lost its lock data (a restart without persistence, a failover, the first use of a
         * key prefix), how long no lock of the prefix is granted, so that holders of lost leases notice first;
         * at least the longest lease on the prefix, zero turns it off. Unset: the lease.
         */
        private @Nullable Duration restartGrace;

        /**
         * @return {@code reactive-locks.redis.url}: the Redis server, or null to use the server of the
         *         application's {@code LettuceConnectionFactory}
         */
        public @Nullable String getUrl() {
            return url;
        }

        /** @param url the Redis URI, e.g. {@code redis://127.0.0.1:6379} */
        public void setUrl(@Nullable String url) {
            this.url = url;
        }

        /**
         * @return {@code reactive-locks.redis.key-prefix}: the prefix of every key of the backend, or null for the
         *         backend's default
         */
        public @Nullable String getKeyPrefix() {
            return keyPrefix;
        }

        /** @param keyPrefix the key prefix */
        public void setKeyPrefix(@Nullable String keyPrefix) {
            this.keyPrefix = keyPrefix;
        }

        /**
         * @return {@code reactive-locks.redis.restart-grace}: how long no lock is granted after a loss of the
         *         server's lock data, or null for one lease
         */
        public @Nullable Duration getRestartGrace() {
            return restartGrace;
        }

        /** @param restartGrace the grace period, zero or positive */
        public void setRestartGrace(@Nullable Duration restartGrace) {
            this.restartGrace = restartGrace;
        }
    }

    /** {@code reactive-locks.metrics.*}: Micrometer meters, bound when a MeterRegistry bean exists. */
    public static class Metrics {

        /** Creates the meters properties, all unset or at their defaults; Spring Boot binds them. */
        public Metrics() {
        }

        /** Whether to meter the service when reactive-locks-micrometer is present and a MeterRegistry bean exists. */
        private boolean enabled = true;

        /** The value of the service tag of every meter. */
        private String serviceName = "default";

        /** Whether meters carry a lock tag with the lock name (one set of meters per name: watch the cardinality). */
        private boolean lockNameTag;

        /**
         * @return {@code reactive-locks.metrics.enabled}: whether the service is metered when a {@code
         *         MeterRegistry} bean exists
         */
        public boolean isEnabled() {
            return enabled;
        }

        /** @param enabled whether to meter the service */
        public void setEnabled(boolean enabled) {
            this.enabled = enabled;
        }

        /** @return {@code reactive-locks.metrics.service-name}: the value of the {@code service} tag of every meter */
        public String getServiceName() {
            return serviceName;
        }

        /** @param serviceName the service tag's value */
        public void setServiceName(String serviceName) {
            this.serviceName = serviceName;
        }

        /**
         * @return {@code reactive-locks.metrics.lock-name-tag}: whether meters carry a {@code lock} tag with the
         *         lock name
         */
        public boolean isLockNameTag() {
            return lockNameTag;
        }

        /** @param lockNameTag whether to tag meters with the lock name */
        public void setLockNameTag(boolean lockNameTag) {
            this.lockNameTag = lockNameTag;
        }
    }

    /**
     * @return {@code reactive-locks.enabled}: whether the {@code LockService} bean and {@code @WithLock} are auto-
     *         configured
     */
    public boolean isEnabled() {
        return enabled;
    }

    /** @param enabled whether to auto-configure */
    public void setEnabled(boolean enabled) {
        this.enabled = enabled;
    }

    /** @return {@code reactive-locks.type}: which lock service is created */
    public Type getType() {
        return type;
    }

    /** @param type the type */
    public void setType(Type type) {
        this.type = type;
    }

    /**
     * @return {@code reactive-locks.default-timeout}: how long a {@code @WithLock} method without a timeout waits,
     *         or null for as long as it takes
     */
    public @Nullable Duration getDefaultTimeout() {
        return defaultTimeout;
    }

    /** @param defaultTimeout the timeout, zero or positive */
    public void setDefaultTimeout(@Nullable Duration defaultTimeout) {
        this.defaultTimeout = defaultTimeout;
    }

    /** @return {@code reactive-locks.prefix}: the prefix put before every lock name, or null for none */
    public @Nullable String getPrefix() {
        return prefix;
    }

    /** @param prefix the prefix, not empty */
    public void setPrefix(@Nullable String prefix) {
        this.prefix = prefix;
    }

    /**
     * @return {@code reactive-locks.max-pending}: the most waiting acquisitions per name (in-process only; past
     *         it an acquisition fails at once with {@code LockUnavailableException}, and 0 lets none wait), or
     *         null for unbounded
     */
    public @Nullable Integer getMaxPending() {
        return maxPending;
    }

    /** @param maxPending the limit, at least 0 */
    public void setMaxPending(@Nullable Integer maxPending) {
        this.maxPending = maxPending;
    }

    /**
     * @return {@code reactive-locks.lease}: how long a distributed grant lives without renewal, or null for 30
     *         seconds
     */
    public @Nullable Duration getLease() {
        return lease;
    }

    /** @param lease the lease, positive */
    public void setLease(@Nullable Duration lease) {
        this.lease = lease;
    }

    /**
     * @return {@code reactive-locks.renew-every}: how often held distributed locks renew their lease, or null for
     *         a third of the lease
     */
    public @Nullable Duration getRenewEvery() {
        return renewEvery;
    }

    /** @param renewEvery the renewal period, less than the lease and at least 1ms (a third of a lease under 3ms) */
    public void setRenewEvery(@Nullable Duration renewEvery) {
        this.renewEvery = renewEvery;
    }

    /**
     * @return {@code reactive-locks.poll-interval}: the longest a distributed waiter sleeps between attempts, or
     *         null for the service's default
     */
    public @Nullable Duration getPollInterval() {
        return pollInterval;
    }

    /** @param pollInterval the poll interval, positive */
    public void setPollInterval(@Nullable Duration pollInterval) {
        this.pollInterval = pollInterval;
    }

    /** @return {@code reactive-locks.shutdown-timeout}: how long held locks may stay held when the context closes */
    public Duration getShutdownTimeout() {
        return shutdownTimeout;
    }

    /** @param shutdownTimeout the timeout, zero or positive */
    public void setShutdownTimeout(Duration shutdownTimeout) {
        this.shutdownTimeout = shutdownTimeout;
    }

    /** @return the {@code reactive-locks.file.*} properties */
    public File getFile() {
        return file;
    }

    /** @return the {@code reactive-locks.postgres.*} properties */
    public Postgres getPostgres() {
        return postgres;
    }

    /** @return the {@code reactive-locks.redis.*} properties */
    public Redis getRedis() {
        return redis;
    }

    /** @return the {@code reactive-locks.metrics.*} properties */
    public Metrics getMetrics() {
        return metrics;
    }
}
