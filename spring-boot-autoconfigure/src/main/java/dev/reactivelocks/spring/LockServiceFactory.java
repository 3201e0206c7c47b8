package dev.reactivelocks.spring;

import dev.reactivelocks.InProcessLockServiceBuilder;
import dev.reactivelocks.LockService;
import dev.reactivelocks.distributed.DistributedLockService;
import dev.reactivelocks.distributed.DistributedLockServiceBuilder;
import dev.reactivelocks.file.FileLockConfig;
import dev.reactivelocks.file.FileLockService;
import dev.reactivelocks.internal.LeaseBounds;
import dev.reactivelocks.spi.LockBackend;
import dev.reactivelocks.spring.ReactiveLocksProperties.Type;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.Arrays;
import java.util.stream.Collectors;
import org.jspecify.annotations.Nullable;
import org.springframework.beans.factory.config.ConfigurableListableBeanFactory;
import org.springframework.util.ClassUtils;
import reactor.core.publisher.Mono;

/**
 * Checks the {@code reactive-locks.*} properties and builds the service they describe. Every problem is a
 * {@link LockConfigurationPropertyException} naming the property, raised while the bean is created.
 */
final class LockServiceFactory {

    static final String P = ReactiveLocksProperties.PREFIX + ".";
    static final String BEAN_NAME = "reactiveLocksLockService";
    /** How long closing what was created for a service that failed its checks may take, at most. */
    private static final Duration CLOSE_TIMEOUT = Duration.ofSeconds(10);

    private final ReactiveLocksProperties props;
    private final ConfigurableListableBeanFactory beans;

    LockServiceFactory(ReactiveLocksProperties props, ConfigurableListableBeanFactory beans) {
        this.props = props;
        this.beans = beans;
    }

    ManagedLockService create() {
        checkOnlyForTypes();
        checkCommon();
        Type type = props.getType();
        LockService base = null;
        Mono<Void> closeBackend = Mono.empty();
        try {
            LockBackend backend = null;
            DistributedLockService distributed = null;
            switch (type) {
                case IN_PROCESS -> base = inProcess();
                case FILE -> base = file();
                case POSTGRES -> {
                    requireClass("dev.reactivelocks.postgres.PostgresLockBackend", "reactive-locks-postgres");
                    requireClass("io.r2dbc.spi.ConnectionFactory", "io.r2dbc:r2dbc-spi and a driver");
                    backend = PostgresBackends.create(props, beans, BEAN_NAME);
                    closeBackend = backend.close();
                    distributed = distributed(backend);
                    base = distributed;
                }
                case REDIS -> {
                    requireClass("dev.reactivelocks.redis.RedisLockBackend", "reactive-locks-redis");
                    RedisBackends.Created created = RedisBackends.create(props, beans, BEAN_NAME);
                    backend = created.backend();
                    closeBackend = created.close();
                    distributed = distributed(backend);
                    base = distributed;
                }
                default -> throw new IllegalStateException("unknown type " + type);
            }
            LockService service = base;
            String prefix = props.getPrefix();
            if (prefix != null) {
                try {
                    service = service.withPrefix(prefix);
                } catch (IllegalArgumentException e) {
                    throw new LockConfigurationPropertyException(P + "prefix", e.getMessage(),
                            "Set reactive-locks.prefix to a name such as myapp (lock names become myapp-name), or "
                                    + "remove it.", e);
                }
            }
            service = Meters.bind(service, props, beans);
            return new ManagedLockService(service, type.value(), distributed, backend, closeBackend,
                    props.getShutdownTimeout(), Clock.systemUTC());
        } catch (RuntimeException e) {
            // a check failed after the service or its backend was created: close them, and the Redis client
            // created for reactive-locks.redis.url with them, before the failure stops the startup
            Mono<Void> dispose = base == null ? Mono.empty() : base.disposeLater().onErrorComplete();
            ManagedLockService.await(dispose.then(closeBackend.onErrorComplete()), CLOSE_TIMEOUT);
            throw e;
        }
    }

    private LockService inProcess() {
        Integer maxPending = props.getMaxPending();
        InProcessLockServiceBuilder builder = LockService.builder();
        if (maxPending != null) {
            if (maxPending < 0) {
                throw new LockConfigurationPropertyException(P + "max-pending", "must be >= 0, was " + maxPending,
                        "Set reactive-locks.max-pending to 0 (no waiting) or more, or remove it for an unbounded queue.");
            }
            builder.maxPending(maxPending);
        }
        return builder.build();
    }

    private LockService file() {
        FileLockConfig.Builder config = FileLockConfig.builder();
        Path directory = props.getFile().getDirectory();
        if (directory != null) {
            if (Files.exists(directory) && !Files.isDirectory(directory)) {
                throw new LockConfigurationPropertyException(P + "file.directory", "is not a directory: " + directory,
                        "Set reactive-locks.file.directory to a directory (created when missing), not a file.");
            }
            config.lockDirectory(directory);
        } else if (FileLockConfig.fromEnvironment().lockDirectory().isEmpty()) {
            throw new LockConfigurationPropertyException(P + "file.directory",
                    "is required with reactive-locks.type=file",
                    "Set reactive-locks.file.directory to the directory of the lock files (or the system property "
                            + FileLockConfig.LOCK_DIR_PROPERTY + " / environment variable "
                            + FileLockConfig.LOCK_DIR_ENV + ").");
        } else {
            config = FileLockConfig.fromEnvironment().toBuilder();
        }
        return FileLockService.create(config.build());
    }

    private DistributedLockService distributed(LockBackend backend) {
        DistributedLockServiceBuilder builder = DistributedLockService.builder(backend);
        Duration lease = props.getLease();
        Duration renew = props.getRenewEvery();
        Duration poll = props.getPollInterval();
        if (lease != null) {
            positive("lease", lease);
            if (lease.compareTo(LeaseBounds.MIN_LEASE) < 0) {
                throw new LockConfigurationPropertyException(P + "lease", "must be >= 1ms, was " + lease,
                        "Set " + P + "lease to at least 1ms (the stores count leases in milliseconds), e.g. 30s.");
            }
            if (lease.compareTo(LeaseBounds.UNMEASURABLE) >= 0) {
                throw new LockConfigurationPropertyException(P + "lease", "must be shorter than 73 years, was "
                        + lease, "Set " + P + "lease to how long a lock may outlive its holder's last renewal, "
                        + "e.g. 30s.");
            }
            builder.lease(lease);
        }
        if (renew != null) {
            positive("renew-every", renew);
            Duration effectiveLease = lease != null ? lease : Duration.ofSeconds(30);
            if (renew.compareTo(effectiveLease) >= 0) {
                throw new LockConfigurationPropertyException(P + "renew-every",
                        "must be less than reactive-locks.lease (" + effectiveLease + "), was " + renew,
                        "Renew well within the lease, e.g. reactive-locks.renew-every = a third of reactive-locks.lease.");
            }
            Duration shortest = LeaseBounds.shortestRenewal(effectiveLease);
            if (renew.compareTo(shortest) < 0) {
                throw new LockConfigurationPropertyException(P + "renew-every",
                        "must be >= " + shortest + ", was " + renew,
                        "Each renewal is a call to the store: renew every millisecond at most, e.g."
                                + " reactive-locks.renew-every = a third of reactive-locks.lease.");
            }
            builder.renewEvery(renew);
        }
        if (poll != null) {
            positive("poll-interval", poll);
            builder.pollInterval(poll);
        }
        return builder.build();
    }

    private void checkCommon() {
        defaultTimeout(props);
        if (props.getShutdownTimeout().isNegative()) {
            throw new LockConfigurationPropertyException(P + "shutdown-timeout",
                    "must be >= 0, was " + props.getShutdownTimeout(),
                    "Set reactive-locks.shutdown-timeout to zero or a positive duration.");
        }
        String prefix = props.getPrefix();
        if (prefix != null && prefix.isBlank()) {
            throw new LockConfigurationPropertyException(P + "prefix", "must not be empty",
                    "Set reactive-locks.prefix to a non-empty name, or remove it.");
        }
    }

    /**
     * @return {@code reactive-locks.default-timeout}, or null when unset
     * @throws LockConfigurationPropertyException when it is negative
     */
    static @Nullable Duration defaultTimeout(ReactiveLocksProperties props) {
        Duration timeout = props.getDefaultTimeout();
        if (timeout != null && timeout.isNegative()) {
            throw new LockConfigurationPropertyException(P + "default-timeout", "must be >= 0, was " + timeout,
                    "Set reactive-locks.default-timeout to zero or a positive duration, or remove it.");
        }
        return timeout;
    }

    /** A property that belongs to other types is a contradiction, not something to ignore silently. */
    private void checkOnlyForTypes() {
        only(props.getMaxPending(), "max-pending", Type.IN_PROCESS);
        only(props.getLease(), "lease", Type.POSTGRES, Type.REDIS);
        only(props.getRenewEvery(), "renew-every", Type.POSTGRES, Type.REDIS);
        only(props.getPollInterval(), "poll-interval", Type.POSTGRES, Type.REDIS);
        only(props.getFile().getDirectory(), "file.directory", Type.FILE);
        only(props.getPostgres().getTable(), "postgres.table", Type.POSTGRES);
        only(props.getPostgres().getCreateTable(), "postgres.create-table", Type.POSTGRES);
        only(props.getRedis().getUrl(), "redis.url", Type.REDIS);
        only(props.getRedis().getKeyPrefix(), "redis.key-prefix", Type.REDIS);
        only(props.getRedis().getRestartGrace(), "redis.restart-grace", Type.REDIS);
    }

    private void only(@Nullable Object value, String property, Type... types) {
        Type type = props.getType();
        if (value == null || Arrays.asList(types).contains(type)) {
            return;
        }
        String allowed = Arrays.stream(types).map(Type::value).collect(Collectors.joining(" or "));
        throw new LockConfigurationPropertyException(P + property,
                "applies only to reactive-locks.type=" + allowed + ", but reactive-locks.type=" + type.value(),
                "Remove " + P + property + ", or change reactive-locks.type.");
    }

    private static void positive(String property, Duration value) {
        if (value.isNegative() || value.isZero()) {
            throw new LockConfigurationPropertyException(P + property, "must be > 0, was " + value,
                    "Set " + P + property + " to a positive duration, e.g. 30s.");
        }
    }

    private void requireClass(String className, String artifact) {
        if (!ClassUtils.isPresent(className, getClass().getClassLoader())) {
            throw new LockConfigurationPropertyException(P + "type",
                    "is " + props.getType().value() + ", but " + className + " is not on the classpath",
                    "Add " + artifact + " to the application's dependencies, or change reactive-locks.type.");
        }
    }
}
