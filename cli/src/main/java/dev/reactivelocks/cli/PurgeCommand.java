package dev.reactivelocks.cli;

import dev.reactivelocks.cli.ReactiveLocksCli.CliFailure;
import dev.reactivelocks.postgres.PostgresLockBackend;
import dev.reactivelocks.postgres.PostgresLockConfig;
import dev.reactivelocks.redis.RedisLockBackend;
import io.lettuce.core.RedisClient;
import io.r2dbc.spi.ConnectionFactory;
import java.time.Duration;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/**
 * {@code reactive-locks purge}: deletes the expired leases of a distributed lock backend, through
 * {@link PostgresLockBackend#purgeExpired} or {@link RedisLockBackend#purgeExpired(Duration)}; {@code --older-than}
 * keeps the leases that expired more recently (by the database's or the Redis server's clock). Expired leases are
 * harmless (acquisitions ignore and remove them), but names that are never locked again leave theirs
 * behind (in Redis only shared leases whose name still has a live lease; the rest expire with their key).
 *
 * <p>PostgreSQL and Redis URLs are supported; other schemes are usage errors.
 *
 * <p>No credential is ever printed: the URL is shown {@linkplain RedactedUrl redacted} (user-info
 * password, password-like query parameters) and every message that may repeat it — driver errors, parse
 * errors — is {@linkplain RedactedUrl#sanitise(String) sanitised}.
 */
@Command(name = "purge", sortOptions = false, mixinStandardHelpOptions = true,
        versionProvider = ReactiveLocksCli.Version.class,
        description = {
            "Deletes the expired leases of the PostgreSQL or Redis lock backend and prints how many.",
            LockStores.URL_HELP,
            LockStores.URL_HELP_REDIS,
            "Credentials are never printed: messages show the URL with passwords replaced by ***."
        })
final class PurgeCommand implements Callable<Integer> {

    private static final Duration PURGE_TIMEOUT = Duration.ofSeconds(60);

    @Spec
    private CommandSpec spec;

    @Parameters(index = "0", paramLabel = "URL", description = "The database of the lock backend.")
    private String url;

    @Option(names = "--table", paramLabel = "TABLE", defaultValue = "reactive_locks",
            description = "The lease table, [schema.]name. Defaults to ${DEFAULT-VALUE}.")
    private String table;

    @Option(names = "--older-than", paramLabel = "DURATION", defaultValue = "0s",
            converter = DurationConverter.class,
            description = "Only leases expired at least this long ago (for example 1h). Defaults to 0s.")
    private Duration olderThan;

    @Option(names = "--key-prefix", paramLabel = "PREFIX", defaultValue = "reactivelocks:",
            description = "Redis only: the key prefix of the lock backend. Defaults to ${DEFAULT-VALUE}.")
    private String keyPrefix;

    @Override
    public Integer call() {
        RedactedUrl shown = RedactedUrl.of(url);
        if (LockStores.isRedis(shown)) {
            return purgeRedis(shown);
        }
        PostgresLockConfig config = LockStores.postgresConfig(spec, table);
        ConnectionFactory factory = LockStores.postgres(spec, url, shown);
        Long purged;
        try {
            purged = PostgresLockBackend.purgeExpired(factory, config, olderThan).block(PURGE_TIMEOUT);
        } catch (RuntimeException e) {
            throw new CliFailure(ReactiveLocksCli.EXIT_FAILURE, "cannot purge expired leases from table '" + table
                    + "' of " + shown + ": " + shown.sanitise(String.valueOf(e.getMessage())));
        }
        long n = purged == null ? 0 : purged;
        spec.commandLine().getOut().println("purged " + n + " expired lease" + (n == 1 ? "" : "s") + " from table "
                + table);
        spec.commandLine().getOut().flush();
        return 0;
    }

    private int purgeRedis(RedactedUrl shown) {
        LockStores.Redis redis = LockStores.redis(spec, url, shown, keyPrefix);
        RedisClient client = RedisClient.create();
        Long purged;
        try {
            RedisLockBackend backend = RedisLockBackend.create(client, redis.uri(), redis.config());
            try {
                purged = backend.purgeExpired(olderThan).block(PURGE_TIMEOUT);
            } finally {
                backend.close().block(PURGE_TIMEOUT);
            }
        } catch (RuntimeException e) {
            throw new CliFailure(ReactiveLocksCli.EXIT_FAILURE, "cannot purge expired leases under key prefix '"
                    + keyPrefix + "' of " + shown + ": " + shown.sanitise(String.valueOf(e.getMessage())));
        } finally {
            LockStores.shutdown(client);
        }
        long n = purged == null ? 0 : purged;
        spec.commandLine().getOut().println("purged " + n + " expired lease" + (n == 1 ? "" : "s")
                + " under key prefix " + keyPrefix);
        spec.commandLine().getOut().flush();
        return 0;
    }

    /**
     * {@code e} with its message {@linkplain RedactedUrl#sanitise(String) sanitised} against every argument
     * that may be a URL ({@code ://} or {@code @} in it), for the parse errors picocli reports itself (an extra
     * URL is echoed in "Unmatched argument ...").
     */
    static ParameterException sanitised(ParameterException e, String[] args) {
        String message = String.valueOf(e.getMessage());
        for (String arg : args) {
            if (arg.contains("://") || arg.contains("@")) {
                message = RedactedUrl.of(arg).sanitise(message);
            }
        }
        return new ParameterException(e.getCommandLine(), message); // not e as cause: its message is raw
    }
}
