package dev.reactivelocks.benchmarks;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.Objects;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import javax.sql.DataSource;
import org.springframework.integration.jdbc.lock.DefaultLockRepository;
import org.springframework.integration.jdbc.lock.JdbcLockRegistry;
import org.springframework.jdbc.datasource.DataSourceTransactionManager;

/**
 * Spring Integration's {@code JdbcLockRegistry}, the blocking PostgreSQL peer, set up as an application
 * would without a Spring context: a HikariCP pool to the local PostgreSQL, a {@code DefaultLockRepository}
 * with its own client id (one per simulated process) and a {@code DataSourceTransactionManager}, and the
 * registry with 100 ms between tries (its default) and a time-to-live of 30 s, the lease ours and Redisson's
 * watchdog use (its default of 10 s expires locks whose release waits that long for a pooled connection
 * behind the polling of 64 contenders on a loaded machine, and the release then fails). The lock table is the
 * {@code INT_LOCK} table of the {@code schema-postgresql.sql} shipped in spring-integration-jdbc, created
 * under the prefix {@value #PREFIX}; each trial uses a region of its own and deletes its rows at the end. The
 * insert ends with {@code ON CONFLICT DO NOTHING}, as the repository's javadoc recommends for PostgreSQL
 * (otherwise every insert that finds the row taken aborts its transaction with a logged error).
 */
final class SpringJdbcLocks {

    static final String PREFIX = "RLBENCH_";
    static final String URL = "jdbc:postgresql://127.0.0.1:5432/test";
    static final String USER = "postgres";
    static final Duration TTL = Duration.ofSeconds(30);
    private static final String SCHEMA = "org/springframework/integration/jdbc/schema-postgresql.sql";

    private SpringJdbcLocks() {
    }

    static HikariDataSource dataSource(String poolName, int maxConnections) {
        HikariConfig config = new HikariConfig();
        config.setJdbcUrl(URL);
        config.setUsername(USER);
        config.setPoolName(poolName);
        config.setMaximumPoolSize(maxConnections);
        config.setMinimumIdle(maxConnections);
        config.addDataSourceProperty("ApplicationName", "reactive-locks-benchmarks");
        return new HikariDataSource(config);
    }

    /** The {@code INT_LOCK} statement of the shipped PostgreSQL schema, under {@link #PREFIX}, if absent. */
    static String lockTableDdl() {
        String schema;
        try (InputStream in = Objects.requireNonNull(
                JdbcLockRegistry.class.getClassLoader().getResourceAsStream(SCHEMA), SCHEMA)) {
            schema = new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        Matcher m = Pattern.compile("CREATE TABLE INT_LOCK\\s*\\(.*?\\n\\);", Pattern.DOTALL).matcher(schema);
        if (!m.find()) {
            throw new IllegalStateException("no CREATE TABLE INT_LOCK in " + SCHEMA);
        }
        return m.group().replace("CREATE TABLE INT_", "CREATE TABLE IF NOT EXISTS " + PREFIX)
                .replace("INT_", PREFIX);
    }

    static void createTable(DataSource dataSource) throws SQLException {
        try (Connection c = dataSource.getConnection(); Statement s = c.createStatement()) {
            s.execute(lockTableDdl());
        }
    }

    static void deleteRegion(DataSource dataSource, String region) throws SQLException {
        try (Connection c = dataSource.getConnection();
             PreparedStatement s = c.prepareStatement("DELETE FROM " + PREFIX + "LOCK WHERE REGION = ?")) {
            s.setString(1, region);
            s.executeUpdate();
        }
    }

    /** A registry over its own repository (its own client id) in {@code region}. */
    static JdbcLockRegistry registry(DataSource dataSource, String region) {
        DefaultLockRepository repository = new DefaultLockRepository(dataSource);
        repository.setPrefix(PREFIX);
        repository.setRegion(region);
        repository.setInsertQuery(repository.getInsertQuery() + " ON CONFLICT DO NOTHING");
        repository.setTransactionManager(new DataSourceTransactionManager(dataSource));
        repository.afterPropertiesSet();
        repository.afterSingletonsInstantiated();
        return new JdbcLockRegistry(repository, TTL);
    }
}
