package dev.reactivelocks.testkit.servers;

import org.opentest4j.TestAbortedException;

/**
 * Child JVM of {@link TestServersTest}, run without the optional embedded-server dependencies of the test kit on
 * its class path: prints, one line each, how starting an embedded PostgreSQL and a bundled Redis fails, and
 * whether a Redis Cluster test would be skipped.
 */
public final class MissingDependencyMain {

    private MissingDependencyMain() {
    }

    public static void main(String[] args) throws Exception {
        System.setProperty(RedisServerProcess.EXECUTABLE_PROPERTY, "bundled");
        try {
            EmbeddedPostgres.start().stop();
            System.out.println("postgres: started");
        } catch (Exception | LinkageError e) {
            System.out.println("postgres: " + e);
        }
        try (RedisServerProcess redis = RedisServerProcess.start()) {
            System.out.println("redis: started on " + redis.port());
        } catch (Exception | LinkageError e) {
            System.out.println("redis: " + e);
        }
        try {
            RedisClusterProcess.assumeExecutable();
            System.out.println("cluster: not skipped");
        } catch (TestAbortedException e) {
            System.out.println("cluster: skipped, " + e.getMessage());
        } catch (LinkageError e) {
            System.out.println("cluster: " + e);
        }
    }
}
