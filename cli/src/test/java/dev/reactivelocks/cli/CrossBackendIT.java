package dev.reactivelocks.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.reactivelocks.LockHandle;
import dev.reactivelocks.LockOptions;
import dev.reactivelocks.distributed.DistributedLockService;
import dev.reactivelocks.postgres.PostgresLockBackend;
import dev.reactivelocks.postgres.PostgresLockConfig;
import dev.reactivelocks.redis.RedisLockBackend;
import dev.reactivelocks.redis.RedisLockConfig;
import dev.reactivelocks.testkit.servers.TestPostgres;
import dev.reactivelocks.testkit.servers.TestRedis;
import io.lettuce.core.RedisClient;
import io.lettuce.core.RedisURI;
import io.r2dbc.postgresql.PostgresqlConnectionFactory;
import io.r2dbc.spi.Connection;
import io.r2dbc.spi.Result;
import java.time.Duration;
import java.util.UUID;
import java.util.concurrent.ThreadLocalRandom;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;

/**
 * Services on different stores, or on different prefixes of one Redis, are separate lock spaces: the same
 * name locked in each is granted in each, and releasing one changes nothing in the others. (In this module
 * because it is the one with both backends: the backends' own modules build side by side.)
 */
class CrossBackendIT {

    private static final Duration TIMEOUT = Duration.ofSeconds(30);
    private static final LockOptions EXCLUSIVE = LockOptions.exclusive().timeout(Duration.ofSeconds(10));

    private RedisClient client;
    private PostgresqlConnectionFactory pg;
    private PostgresLockConfig pgConfig;
    private RedisLockBackend redis1;
    private RedisLockBackend redis2;
    private PostgresLockBackend postgres;
    private RedisURI uri;

    @BeforeEach
    void setUp() {
        client = RedisClient.create();
        uri = TestRedis.get().uri("rl-cross");
        pg = TestPostgres.get().connectionFactory("rl-cross");
        pgConfig = PostgresLockConfig.builder()
                .table("rl_cross_" + Long.toHexString(ThreadLocalRandom.current().nextLong() & 0xffffffL)).build();
        RedisLockConfig base = RedisLockConfig.builder().restartGrace(Duration.ZERO).build();
        redis1 = RedisLockBackend.create(client, uri, base.toBuilder().keyPrefix(uniquePrefix("cross1")).build());
        redis2 = RedisLockBackend.create(client, uri, base.toBuilder().keyPrefix(uniquePrefix("cross2")).build());
        postgres = PostgresLockBackend.create(pg, pgConfig);
    }

    @AfterEach
    void tearDown() {
        for (var b : new dev.reactivelocks.spi.LockBackend[] {redis1, redis2, postgres}) {
            b.close().block(TIMEOUT);
        }
        try (var admin = client.connect(uri)) {
            for (RedisLockBackend b : new RedisLockBackend[] {redis1, redis2}) {
                var keys = admin.sync().keys(b.config().keyPrefix() + "*");
                if (!keys.isEmpty()) {
                    admin.sync().del(keys.toArray(String[]::new));
                }
            }
        }
        TestRedis.shutdown(client);
        Mono.usingWhen(pg.create(), c -> Flux.fromIterable(pgConfig.dropDdl())
                        .concatMap(sql -> Flux.from(c.createStatement(sql).execute()).flatMap(Result::getRowsUpdated))
                        .then(),
                Connection::close).block(TIMEOUT);
    }

    private static String uniquePrefix(String what) {
        return "rl-" + what + "-" + UUID.randomUUID() + ":";
    }

    private static DistributedLockService service(dev.reactivelocks.spi.LockBackend backend) {
        return DistributedLockService.builder(backend).lease(Duration.ofSeconds(5)).build();
    }

    @Test
    void postgresAndRedisServicesNeverShareALockByAccident() {
        DistributedLockService onPostgres = service(postgres);
        DistributedLockService onRedis = service(redis1);
        DistributedLockService onOtherPrefix = service(redis2);
        try {
            LockHandle p = onPostgres.acquire("orders", EXCLUSIVE).block(TIMEOUT);
            LockHandle r = onRedis.tryAcquire("orders").block(TIMEOUT);
            LockHandle o = onOtherPrefix.tryAcquire("orders").block(TIMEOUT);
            assertThat(p).isNotNull();
            assertThat(r).as("the same name in Redis is another lock").isNotNull();
            assertThat(o).as("the same name under another prefix is another lock").isNotNull();
            assertThat(onPostgres.tryAcquire("orders").block(TIMEOUT)).as("each store still excludes").isNull();
            assertThat(onRedis.tryAcquire("orders").block(TIMEOUT)).isNull();

            r.release().block(TIMEOUT);
            assertThat(p.isHeld()).isTrue();
            assertThat(o.isHeld()).isTrue();
            assertThat(onPostgres.tryAcquire("orders").block(TIMEOUT)).as("a Redis release frees nothing in PostgreSQL")
                    .isNull();
            assertThat(redis1.leases().collectList().block(TIMEOUT)).isEmpty();
            assertThat(redis2.leases().collectList().block(TIMEOUT)).hasSize(1);
            p.release().block(TIMEOUT);
            o.release().block(TIMEOUT);
        } finally {
            onPostgres.disposeLater().block(TIMEOUT);
            onRedis.disposeLater().block(TIMEOUT);
            onOtherPrefix.disposeLater().block(TIMEOUT);
        }
    }
}
