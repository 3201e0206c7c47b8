package dev.reactivelocks.cli;

import dev.reactivelocks.postgres.PostgresLockConfig;
import dev.reactivelocks.redis.RedisLockConfig;
import io.lettuce.core.RedisClient;
import io.lettuce.core.RedisURI;
import io.r2dbc.spi.ConnectionFactories;
import io.r2dbc.spi.ConnectionFactory;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.ParameterException;

/**
 * The lock stores named by a URL on the command line ({@code purge}, {@code list}): PostgreSQL
 * ({@code postgresql://}, {@code r2dbc:postgresql://}) or Redis ({@code redis://}, {@code rediss://}).
 * Every message that may repeat the URL shows it {@linkplain RedactedUrl redacted} and is
 * {@linkplain RedactedUrl#sanitise(String) sanitised}.
 */
final class LockStores {

    /** How the URLs are described in the commands' help. */
    static final String URL_HELP = "URL: postgresql://user[:password]@host[:port]/database (as libpq), r2dbc:postgresql://...,";
    static final String URL_HELP_REDIS = "     or redis://[password@]host[:port][/database] (rediss:// for TLS)";

    private LockStores() {
    }

    static boolean isRedis(RedactedUrl shown) {
        return shown.scheme().equals("redis") || shown.scheme().equals("rediss");
    }

    /** The configuration of the lease table {@code table}, never creating it. */
    static PostgresLockConfig postgresConfig(CommandSpec spec, String table) {
        try {
            return PostgresLockConfig.builder().table(table).createTable(false).build();
        } catch (IllegalArgumentException e) {
            throw new ParameterException(spec.commandLine(), "Invalid value for option '--table': " + e.getMessage());
        }
    }

    /** The R2DBC connection factory of a PostgreSQL URL; a usage error for any other scheme. */
    static ConnectionFactory postgres(CommandSpec spec, String url, RedactedUrl shown) {
        String r2dbcUrl;
        switch (shown.hierarchical() ? shown.scheme() : "") {
            case "r2dbc:postgresql":
            case "r2dbc:postgres":
                r2dbcUrl = url;
                break;
            case "postgresql":
            case "postgres":
                r2dbcUrl = "r2dbc:" + url;
                break;
            default:
                throw new ParameterException(spec.commandLine(), "Invalid value for URL: '" + shown + "' "
                        + (shown.hierarchical() ? "has the unsupported scheme '" + shown.scheme() + "'"
                                : "is not of the form scheme://...")
                        + "; supported: postgresql://, r2dbc:postgresql://, redis://, rediss://");
        }
        try {
            return ConnectionFactories.get(r2dbcUrl);
        } catch (RuntimeException e) {
            throw new ParameterException(spec.commandLine(), "Invalid value for URL: '" + shown + "': "
                    + shown.sanitise(String.valueOf(e.getMessage())));
        }
    }

    /** A Redis server and the key prefix of its locks. */
    record Redis(RedisURI uri, RedisLockConfig config) {
    }

    /** The Redis server of a {@code redis://} URL with the key prefix {@code keyPrefix}. */
    static Redis redis(CommandSpec spec, String url, RedactedUrl shown, String keyPrefix) {
        try {
            return new Redis(RedisURI.create(url), RedisLockConfig.builder().keyPrefix(keyPrefix).build());
        } catch (IllegalArgumentException e) {
            throw new ParameterException(spec.commandLine(), "Invalid value for URL or '--key-prefix': "
                    + shown.sanitise(String.valueOf(e.getMessage())));
        }
    }

    /**
     * Shuts the command's Redis client down, waiting at most ten seconds: Lettuce's own {@code shutdown()}
     * waits without bound for the client's connections to close, and the command must end even when one
     * never does (its threads are daemons). A failure to shut down changes nothing the command did.
     */
    static void shutdown(RedisClient client) {
        try {
            client.shutdownAsync(0, 2, TimeUnit.SECONDS).get(10, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (ExecutionException | TimeoutException e) {
            // the command is over: what is left of the client ends with the process
        }
    }
}
