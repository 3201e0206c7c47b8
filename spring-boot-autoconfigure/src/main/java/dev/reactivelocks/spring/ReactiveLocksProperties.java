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
     * long after its last renewal (postgres and redis only). Unset: 30 seconds.
     */
    private @Nullable Duration lease;

    /** How often held distributed locks renew their lease; less than the lease (postgres and redis only). Unset: a third of the lease. */
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

        /** The directory of the lock files; required with type=file. Created when missing. */
        private @Nullable Path directory;

        public @Nullable Path getDirectory() {
            return directory;
        }

        public void setDirectory(@Nullable Path directory) {
            this.directory = directory;
        }
    }

    /** {@code reactive-locks.postgres.*}: the PostgreSQL backend. */
    public static class Postgres {

        /** The lease table, optionally schema-qualified, lower-case. Unset: reactive_locks. */
        private @Nullable String table;

        /** Whether the backend creates its table, sequence, queue table and functions when missing. Unset: true. */
        private @Nullable Boolean createTable;

        public @Nullable String getTable() {
            return table;
        }

        public void setTable(@Nullable String table) {
            this.table = table;
        }

        public @Nullable Boolean getCreateTable() {
            return createTable;
        }

        public void setCreateTable(@Nullable Boolean createTable) {
            this.createTable = createTable;
        }
    }

    /** {@code reactive-locks.redis.*}: the Redis backend. */
    public static class Redis {

        /**
         * The Redis server every service that must exclude this one uses, e.g. redis://127.0.0.1:6379; required
         * with type=redis. Connections are opened with the application's Lettuce RedisClient bean, or with a
         * client of this library's own (shut down with the context) when there is none.
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

        public @Nullable String getUrl() {
            return url;
        }

        public void setUrl(@Nullable String url) {
            this.url = url;
        }

        public @Nullable String getKeyPrefix() {
            return keyPrefix;
        }

        public void setKeyPrefix(@Nullable String keyPrefix) {
            this.keyPrefix = keyPrefix;
        }

        public @Nullable Duration getRestartGrace() {
            return restartGrace;
        }

        public void setRestartGrace(@Nullable Duration restartGrace) {
            this.restartGrace = restartGrace;
        }
    }

    /** {@code reactive-locks.metrics.*}: Micrometer meters, bound when a MeterRegistry bean exists. */
    public static class Metrics {

        /** Whether to meter the service when reactive-locks-micrometer is present and a MeterRegistry bean exists. */
        private boolean enabled = true;

        /** The value of the service tag of every meter. */
        private String serviceName = "default";

        /** Whether meters carry a lock tag with the lock name (one set of meters per name: watch the cardinality). */
        private boolean lockNameTag;

        public boolean isEnabled() {
            return enabled;
        }

        public void setEnabled(boolean enabled) {
            this.enabled = enabled;
        }

        public String getServiceName() {
            return serviceName;
        }

        public void setServiceName(String serviceName) {
            this.serviceName = serviceName;
        }

        public boolean isLockNameTag() {
            return lockNameTag;
        }

        public void setLockNameTag(boolean lockNameTag) {
            this.lockNameTag = lockNameTag;
        }
    }

    public boolean isEnabled() {
        return enabled;
    }

    public void setEnabled(boolean enabled) {
        this.enabled = enabled;
    }

    public Type getType() {
        return type;
    }

    public void setType(Type type) {
        this.type = type;
    }

    public @Nullable Duration getDefaultTimeout() {
        return defaultTimeout;
    }

    public void setDefaultTimeout(@Nullable Duration defaultTimeout) {
        this.defaultTimeout = defaultTimeout;
    }

    public @Nullable String getPrefix() {
        return prefix;
    }

    public void setPrefix(@Nullable String prefix) {
        this.prefix = prefix;
    }

    public @Nullable Integer getMaxPending() {
        return maxPending;
    }

    public void setMaxPending(@Nullable Integer maxPending) {
        this.maxPending = maxPending;
    }

    public @Nullable Duration getLease() {
        return lease;
    }

    public void setLease(@Nullable Duration lease) {
        this.lease = lease;
    }

    public @Nullable Duration getRenewEvery() {
        return renewEvery;
    }

    public void setRenewEvery(@Nullable Duration renewEvery) {
        this.renewEvery = renewEvery;
    }

    public @Nullable Duration getPollInterval() {
        return pollInterval;
    }

    public void setPollInterval(@Nullable Duration pollInterval) {
        this.pollInterval = pollInterval;
    }

    public Duration getShutdownTimeout() {
        return shutdownTimeout;
    }

    public void setShutdownTimeout(Duration shutdownTimeout) {
        this.shutdownTimeout = shutdownTimeout;
    }

    public File getFile() {
        return file;
    }

    public Postgres getPostgres() {
        return postgres;
    }

    public Redis getRedis() {
        return redis;
    }

    public Metrics getMetrics() {
        return metrics;
    }
}
