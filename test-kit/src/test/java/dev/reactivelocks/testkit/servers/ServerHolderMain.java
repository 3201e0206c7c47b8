package dev.reactivelocks.testkit.servers;

/**
 * Child JVM of {@link TestServersTest}: starts an embedded PostgreSQL and a Redis server, prints their ports and
 * working directories, then waits to be killed.
 */
public final class ServerHolderMain {

    private ServerHolderMain() {
    }

    public static void main(String[] args) throws Exception {
        EmbeddedPostgres postgres = EmbeddedPostgres.start();
        RedisServerProcess redis = RedisServerProcess.start();
        System.out.println("PORTS " + postgres.port + " " + redis.port());
        System.out.flush();
        Thread.sleep(Long.MAX_VALUE);
    }
}
