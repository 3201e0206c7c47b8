package dev.reactivelocks.testkit.servers;

import io.lettuce.core.RedisClient;
import io.lettuce.core.RedisURI;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.cluster.models.partitions.ClusterPartitionParser;
import io.lettuce.core.cluster.models.partitions.Partitions;
import io.lettuce.core.cluster.models.partitions.RedisClusterNode;
import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.function.BooleanSupplier;
import java.util.stream.IntStream;
import org.jspecify.annotations.Nullable;
import org.junit.jupiter.api.Assumptions;

/**
 * A Redis Cluster of three masters and three replicas owned by a test: six {@code redis-server} child processes
 * ({@link RedisServerProcess}: the {@code redis-server} on the {@code PATH}, else the bundled Redis 6.2) on free
 * ports of 127.0.0.1, no persistence, a one-second {@code cluster-node-timeout} so that a killed master is replaced
 * within seconds. {@link #start()} assigns the 16384 slots evenly to the masters ({@code CLUSTER ADDSLOTS}), joins
 * the nodes ({@code CLUSTER MEET}), makes one replica per master ({@code CLUSTER REPLICATE}) and returns once every
 * node reports {@code cluster_state:ok}, agrees on the masters and every replica is in sync. The processes are killed
 * by their pids when closed, and at the latest when this JVM ends.
 *
 * <p>{@link #shared()} is one cluster for all tests of this JVM that only need <em>a</em> cluster; tests that fail
 * nodes over start their own.
 *
 * <p><b>Threading</b>: every method blocks; call them from the test thread.
 */
public final class RedisClusterProcess implements AutoCloseable {

    private static final int MASTERS = 3;
    private static final int SLOTS = 16384;
    private static final Duration SETTLE = Duration.ofSeconds(30);
    private static final List<String> OPTIONS = List.of("--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf",
            "--cluster-node-timeout", "1000", "--repl-diskless-sync-delay", "0");
    private static @Nullable RedisClusterProcess shared;
    private static @Nullable String sharedFailure;
    private static @Nullable String missingExecutable;

    private final List<RedisServerProcess> nodes;
    private final RedisClient admin = RedisClient.create();

    private RedisClusterProcess(List<RedisServerProcess> nodes) {
        this.nodes = nodes;
    }

    /**
     * The cluster of this JVM, started on the first call, shared by every caller, stopped when the JVM ends.
     * Aborts the calling test (a JUnit assumption, with the reason printed) when no {@code redis-server} executable
     * can be found; fails it when one is found but the cluster does not form.
     */
    public static synchronized RedisClusterProcess shared() {
        assumeExecutable();
        if (shared == null && sharedFailure == null) {
            try {
                long started = System.nanoTime();
                shared = start();
                ServerSupport.log("Redis Cluster: " + shared + ", " + RedisServerProcess.executableDescription()
                        + ", formed in " + Duration.ofNanos(System.nanoTime() - started).toMillis() + " ms");
            } catch (IOException e) {
                sharedFailure = "the local Redis Cluster did not form: " + e.getMessage();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                sharedFailure = "interrupted while the local Redis Cluster formed";
            }
        }
        RedisClusterProcess cluster = shared;
        if (cluster == null) {
            throw new AssertionError(sharedFailure);
        }
        return cluster;
    }

    /**
     * Aborts the calling test (a JUnit assumption, with the reason printed once) when no {@code redis-server}
     * executable can be found for a local cluster.
     */
    public static synchronized void assumeExecutable() {
        if (missingExecutable == null) {
            try {
                RedisServerProcess.executable();
                missingExecutable = "";
            } catch (IOException | RuntimeException e) {
                missingExecutable = "no redis-server executable for a local cluster: " + ServerSupport.describe(e);
                ServerSupport.log("Redis Cluster: skipped (" + missingExecutable + ")");
            }
        }
        String reason = missingExecutable;
        Assumptions.assumeTrue(reason.isEmpty(), reason);
    }

    /**
     * Starts six nodes and forms a cluster of three masters, each with one replica.
     *
     * @throws IOException when a node does not start or the cluster does not form within 30 seconds
     */
    public static RedisClusterProcess start() throws IOException, InterruptedException {
        List<RedisServerProcess> nodes = new ArrayList<>();
        RedisClusterProcess cluster = new RedisClusterProcess(nodes);
        try {
            for (int i = 0; i < 2 * MASTERS; i++) {
                nodes.add(RedisServerProcess.start("redis-cluster", OPTIONS));
            }
            cluster.form();
            return cluster;
        } catch (IOException | InterruptedException | RuntimeException e) {
            cluster.close();
            throw e;
        }
    }

    private void form() throws IOException, InterruptedException {
        List<String> ids = new ArrayList<>();
        for (RedisServerProcess node : nodes) {
            ids.add(run(node.port(), c -> c.sync().clusterMyId()));
        }
        for (int m = 0; m < MASTERS; m++) {
            int from = m * SLOTS / MASTERS;
            int to = (m + 1) * SLOTS / MASTERS;
            run(nodes.get(m).port(), c -> c.sync().clusterAddSlots(IntStream.range(from, to).toArray()));
        }
        for (int i = 1; i < nodes.size(); i++) {
            int port = nodes.get(i).port();
            run(nodes.get(0).port(), c -> c.sync().clusterMeet("127.0.0.1", port));
        }
        await("every node knows the six others", () -> nodes.stream().allMatch(n -> {
            String text = run(n.port(), c -> c.sync().clusterNodes());
            return text.lines().count() == nodes.size() && !text.contains("handshake") && !text.contains("noaddr");
        }));
        for (int r = MASTERS; r < nodes.size(); r++) {
            String master = ids.get(r - MASTERS);
            run(nodes.get(r).port(), c -> c.sync().clusterReplicate(master));
        }
        awaitHealthy();
    }

    /** The ports of the six nodes, masters first as started (a failover changes the roles). */
    public List<Integer> ports() {
        return nodes.stream().map(RedisServerProcess::port).toList();
    }

    /**
     * URIs of every running node, for {@code RedisClusterClient.create(uris)}, whose connections are named
     * {@code clientName}, with a five-second command timeout.
     */
    public List<RedisURI> uris(String clientName) {
        return nodes.stream().filter(RedisServerProcess::isRunning).map(n -> n.uri(clientName)).toList();
    }

    /** The port of the master that serves {@code slot}, as a running node sees it. */
    public int masterOf(int slot) {
        RedisClusterNode node = partitions().getPartitionBySlot(slot);
        if (node == null) {
            throw new IllegalStateException("no master serves slot " + slot);
        }
        return node.getUri().getPort();
    }

    /** The port of a running replica of the master on {@code masterPort}. */
    public int replicaOf(int masterPort) {
        Partitions partitions = partitions();
        String masterId = partitions.stream().filter(n -> n.getUri().getPort() == masterPort).findFirst()
                .orElseThrow(() -> new IllegalStateException("no node on port " + masterPort)).getNodeId();
        return partitions.stream()
                .filter(n -> masterId.equals(n.getSlaveOf()) && running(n.getUri().getPort()))
                .findFirst().orElseThrow(() -> new IllegalStateException("no running replica of " + masterPort))
                .getUri().getPort();
    }

    /**
     * Manual failover: {@code CLUSTER FAILOVER} on the replica on {@code replicaPort}, which takes over its
     * master's slots after catching up with it; returns once the cluster is healthy with that replica as master.
     */
    public void failover(int replicaPort) throws IOException, InterruptedException {
        run(replicaPort, c -> c.sync().clusterFailover(false));
        await("node " + replicaPort + " is a master", () -> run(replicaPort, c -> c.sync().role()).get(0).equals("master"));
        awaitHealthy();
    }

    /** Kills the node on {@code port} (SIGKILL, as a crash); its replica takes over within a few seconds. */
    public void kill(int port) throws InterruptedException {
        node(port).stop();
    }

    /**
     * Freezes the node on {@code port} ({@code SIGSTOP}): it answers nothing and, as a replica, receives no
     * replication until {@link #resume(int)}.
     */
    public void pause(int port) throws IOException, InterruptedException {
        signal(port, "STOP");
    }

    /** Lets a node frozen by {@link #pause(int)} run again ({@code SIGCONT}). */
    public void resume(int port) throws IOException, InterruptedException {
        signal(port, "CONT");
    }

    private void signal(int port, String signal) throws IOException, InterruptedException {
        java.nio.file.Path log = java.nio.file.Files.createTempFile("redis-cluster-signal", ".log");
        try {
            ServerSupport.run(List.of("kill", "-s", signal, Long.toString(node(port).pid())), log, Duration.ofSeconds(10));
        } finally {
            java.nio.file.Files.deleteIfExists(log);
        }
    }

    /**
     * Waits until every running node reports {@code cluster_state:ok}, all of them agree on which node serves
     * which slots, every slot is served by a running master, and every running replica of those is in sync.
     *
     * @throws IOException when that does not happen within 30 seconds
     */
    public void awaitHealthy() throws IOException, InterruptedException {
        await("the cluster is healthy", () -> {
            Set<String> views = new TreeSet<>();
            for (RedisServerProcess n : nodes) {
                if (n.isRunning()) {
                    if (!run(n.port(), c -> c.sync().clusterInfo()).contains("cluster_state:ok")) {
                        return false;
                    }
                    views.add(view(n.port()));
                }
            }
            if (views.size() != 1) {
                return false;
            }
            Partitions partitions = partitions();
            for (RedisClusterNode n : partitions) {
                boolean master = n.is(RedisClusterNode.NodeFlag.UPSTREAM) && !n.getSlots().isEmpty();
                int port = n.getUri().getPort();
                if (master && (!running(port) || n.is(RedisClusterNode.NodeFlag.FAIL))) {
                    return false;
                }
                if (!master && running(port) && n.getSlaveOf() != null
                        && !run(port, c -> c.sync().info("replication")).contains("master_link_status:up")) {
                    return false;
                }
            }
            return true;
        });
    }

    /** The masters a node sees, as "port:slot count" sorted. */
    private String view(int port) {
        Set<String> masters = new TreeSet<>();
        for (RedisClusterNode n : ClusterPartitionParser.parse(nodesOf(port))) {
            if (n.is(RedisClusterNode.NodeFlag.UPSTREAM) && !n.getSlots().isEmpty()
                    && !n.is(RedisClusterNode.NodeFlag.FAIL)) {
                masters.add(n.getUri().getPort() + ":" + n.getSlots().size());
            }
        }
        return masters.toString();
    }

    private Partitions partitions() {
        RedisServerProcess any = nodes.stream().filter(RedisServerProcess::isRunning).findFirst()
                .orElseThrow(() -> new IllegalStateException("no node runs"));
        return ClusterPartitionParser.parse(nodesOf(any.port()));
    }

    private String nodesOf(int port) {
        return run(port, c -> c.sync().clusterNodes());
    }

    private boolean running(int port) {
        return nodes.stream().anyMatch(n -> n.port() == port && n.isRunning());
    }

    private RedisServerProcess node(int port) {
        return nodes.stream().filter(n -> n.port() == port).findFirst()
                .orElseThrow(() -> new IllegalArgumentException("no node of this cluster on port " + port));
    }

    private <T> T run(int port, java.util.function.Function<StatefulRedisConnection<String, String>, T> command) {
        RedisURI uri = RedisURI.builder().withHost("127.0.0.1").withPort(port).withTimeout(Duration.ofSeconds(5))
                .withClientName("reactive-locks-cluster-admin").build();
        try (StatefulRedisConnection<String, String> c = admin.connect(uri)) {
            return command.apply(c);
        }
    }

    /** Waits until {@code condition} holds (exceptions count as not yet), polling; 30 seconds at most. */
    static void await(String what, BooleanSupplier condition) throws IOException, InterruptedException {
        long deadline = System.nanoTime() + SETTLE.toNanos();
        RuntimeException last = null;
        while (System.nanoTime() < deadline) {
            try {
                if (condition.getAsBoolean()) {
                    return;
                }
            } catch (RuntimeException e) {   // a node that is still starting or failing over
                last = e;
            }
            Thread.sleep(20);   // polling processes that have no readiness signal
        }
        throw new IOException("not within " + SETTLE + ": " + what
                + (last == null ? "" : " (last error: " + ServerSupport.describe(last) + ")"));
    }

    /** Kills every node and deletes their working directories. */
    @Override
    public void close() throws InterruptedException {
        for (RedisServerProcess node : nodes) {
            node.close();
        }
        TestRedis.shutdown(admin);
    }

    @Override
    public String toString() {
        return "RedisClusterProcess[127.0.0.1:" + ports() + "]";
    }
}
