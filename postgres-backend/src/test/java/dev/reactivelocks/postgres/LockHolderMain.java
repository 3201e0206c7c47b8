package dev.reactivelocks.postgres;

import dev.reactivelocks.LockHandle;
import dev.reactivelocks.LockOptions;
import dev.reactivelocks.distributed.DistributedLockService;
import io.r2dbc.pool.ConnectionPool;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.time.Duration;

/**
 * The other JVM of {@link TwoJvmTest}: acquires a lock, prints {@code ACQUIRED <fencingToken>}, and
 * releases it when it reads {@code release} on stdin (then prints {@code RELEASED} and exits 0).
 * Arguments: table, lock name, lease in milliseconds.
 */
public final class LockHolderMain {

    private LockHolderMain() {
    }

    public static void main(String[] args) throws Exception {
        PostgresLockConfig config = PostgresLockConfig.builder().table(args[0]).build();
        Duration lease = Duration.ofMillis(Long.parseLong(args[2]));
        ConnectionPool pool = PostgresTestSupport.pool(PostgresTestSupport.factory("rl-child"));
        PostgresLockBackend backend = PostgresLockBackend.create(pool, config);
        DistributedLockService locks = DistributedLockService.builder(backend)
                .lease(lease).renewEvery(lease.dividedBy(10)).build();
        LockHandle handle = locks.acquire(args[1], LockOptions.exclusive().timeout(Duration.ofSeconds(30)))
                .block(Duration.ofSeconds(40));
        System.out.println("ACQUIRED " + handle.fencingToken());
        System.out.flush();
        BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
        String line;
        while ((line = in.readLine()) != null) {
            if (line.equals("release")) {
                handle.release().block(Duration.ofSeconds(10));
                System.out.println("RELEASED " + handle.isHeld());
                System.out.flush();
                locks.disposeLater().block(Duration.ofSeconds(10));
                backend.close().block(Duration.ofSeconds(10));
                pool.disposeLater().block(Duration.ofSeconds(10));
                System.exit(0);
            }
        }
        System.exit(3);
    }
}
