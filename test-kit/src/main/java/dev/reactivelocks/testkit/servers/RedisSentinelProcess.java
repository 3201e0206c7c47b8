package dev.reactivelocks.testkit.servers;

import io.lettuce.core.RedisClient;
import io.lettuce.core.RedisURI;
import io.lettuce.core.sentinel.api.StatefulRedisSentinelConnection;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.function.Function;

/**
 * A Sentinel deployment owned by a test: a master, one replica and one sentinel ({@code redis-server --sentinel},
 * quorum 1, master name {@value #MASTER_NAME}), three {@link RedisServerProcess} children on free ports of
 * 127.0.0.1, no persistence. {@link #start()} returns once the sentinel monitors the master and knows its replica in
 * sync, so that {@link #failover()} can promote it at once. The processes are killed by their pids when closed, and
 * at the latest when this JVM ends.
 *
 * <p><b>Threading</b>: every method blocks; call them from the test thread.
 */
public final class RedisSentinelProcess implements AutoCloseable {

    /** The name under which the sentinel monitors the master. */
    public static final String MASTER_NAME = "rlmaster";

    private final RedisServerProcess first;
    private final RedisServerProcess second;
    private final RedisServerProcess sentinel;
    private final RedisClient admin = RedisClient.create();

    private RedisSentinelProcess(RedisServerProcess first, RedisServerProcess second, RedisServerProcess sentinel) {
        this.first = first;
        this.second = second;
        this.sentinel = sentinel;
    }

    /**
     * Aborts the calling test (a JUnit assumption, with the reason printed once) when no {@code redis-server}
     * executable can be found.
     */
    public static void assumeExecutable() {
        RedisClusterProcess.assumeExecutable();
    }

    /**
     * Starts a master, its replica and a sentinel that monitors them.
     *
     * @throws IOException when a server does not start or the sentinel does not see the replica within 30 seconds
     */
    public static RedisSentinelProcess start() throws IOException, InterruptedException {
        RedisServerProcess master = RedisServerProcess.start();
        RedisServerProcess replica = null;
        RedisServerProcess sentinel = null;
        try {
            replica = RedisServerProcess.start("redis-replica",
                    List.of("--replicaof", "127.0.0.1", Integer.toString(master.port())));
            Path conf = ServerSupport.newWorkDirectory("redis-sentinel-conf").resolve("sentinel.conf");
            Files.writeString(conf, "sentinel monitor " + MASTER_NAME + " 127.0.0.1 " + master.port() + " 1\n"
                    + "sentinel down-after-milliseconds " + MASTER_NAME + " 1000\n"
                    + "sentinel failover-timeout " + MASTER_NAME + " 3000\n");
            sentinel = RedisServerProcess.start("redis-sentinel", List.of(conf.toString(), "--sentinel"), List.of());
            RedisSentinelProcess deployment = new RedisSentinelProcess(master, replica, sentinel);
            deployment.awaitReplicaKnown();
            return deployment;
        } catch (IOException | InterruptedException | RuntimeException e) {
            for (RedisServerProcess p : new RedisServerProcess[] {sentinel, replica, master}) {
                if (p != null) {
                    p.close();
                }
            }
            throw e;
        }
    }

    /** The sentinel's port on 127.0.0.1. */
    public int sentinelPort() {
        return sentinel.port();
    }

    /** The URL of the master through the sentinel: {@code redis-sentinel://127.0.0.1:<port>#rlmaster}. */
    public String url() {
        return "redis-sentinel://127.0.0.1:" + sentinel.port() + "#" + MASTER_NAME;
    }

    /**
     * A URI for the master through the sentinel ({@code redis-sentinel://127.0.0.1:<port>#rlmaster}) whose
     * connections are named {@code clientName}, with a five-second command timeout.
     */
    public RedisURI uri(String clientName) {
        RedisURI uri = RedisURI.create(url());
        uri.setClientName(clientName);
        uri.setTimeout(Duration.ofSeconds(5));
        return uri;
    }

    /** The port of the current master, as the sentinel reports it. */
    public int masterPort() {
        SocketAddress address = sentinel(c -> c.sync().getMasterAddrByName(MASTER_NAME));
        return ((InetSocketAddress) address).getPort();
    }

    /**
     * {@code SENTINEL FAILOVER}: the sentinel promotes the replica and turns the old master into its replica;
     * returns once the new master answers as one, the old one replicates from it, and the sentinel knows it.
     *
     * @return the port of the new master
     * @throws IOException when that does not happen within 30 seconds
     */
    public int failover() throws IOException, InterruptedException {
        int old = masterPort();
        int promoted = old == first.port() ? second.port() : first.port();
        sentinel(c -> c.sync().failover(MASTER_NAME));
        RedisClusterProcess.await("the replica on " + promoted + " is the master", () -> masterPort() == promoted
                && server(promoted, c -> c.sync().role()).get(0).equals("master")
                && server(old, c -> c.sync().info("replication")).contains("master_link_status:up"));
        awaitReplicaKnown();
        return promoted;
    }

    private void awaitReplicaKnown() throws IOException, InterruptedException {
        RedisClusterProcess.await("the sentinel knows a replica in sync", () -> {
            List<Map<String, String>> replicas = sentinel(c -> c.sync().replicas(MASTER_NAME));
            return !replicas.isEmpty() && replicas.stream().allMatch(r -> r.getOrDefault("flags", "").equals("slave")
                    && "ok".equals(r.get("master-link-status")));
        });
    }

    private <T> T sentinel(Function<StatefulRedisSentinelConnection<String, String>, T> command) {
        RedisURI uri = RedisURI.builder().withHost("127.0.0.1").withPort(sentinel.port())
                .withTimeout(Duration.ofSeconds(5)).build();
        try (StatefulRedisSentinelConnection<String, String> c = admin.connectSentinel(uri)) {
            return command.apply(c);
        }
    }

    private <T> T server(int port, Function<io.lettuce.core.api.StatefulRedisConnection<String, String>, T> command) {
        RedisURI uri = RedisURI.builder().withHost("127.0.0.1").withPort(port).withTimeout(Duration.ofSeconds(5))
                .withClientName("reactive-locks-sentinel-admin").build();
        try (var c = admin.connect(uri)) {
            return command.apply(c);
        }
    }

    /** Kills the three processes and deletes their working directories. */
    @Override
    public void close() throws InterruptedException {
        TestRedis.shutdown(admin);
        sentinel.close();
        second.close();
        first.close();
    }

    @Override
    public String toString() {
        return "RedisSentinelProcess[sentinel 127.0.0.1:" + sentinel.port() + ", servers " + first.port() + " and "
                + second.port() + "]";
    }
}
