package dev.reactivelocks.testkit.servers;

import io.lettuce.core.RedisURI;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.List;
import org.jspecify.annotations.Nullable;
import redis.embedded.core.ExecutableProvider;
import redis.embedded.model.OsArchitecture;

/**
 * A {@code redis-server} child process owned by a test: a free port of 127.0.0.1, no persistence, its working
 * directory under {@code target/test-servers/}. It runs the {@code redis-server} found on the {@code PATH}, or,
 * when there is none, the one bundled in {@code com.github.codemonstur:embedded-redis} (Redis 6.2, copied once per
 * machine under {@code java.io.tmpdir/reactive-locks-redis/}); the system
 * property {@value #EXECUTABLE_PROPERTY} overrides the choice (a path, or {@code bundled}). It is stopped when
 * closed, and at the latest when this JVM ends, however it ends (a watchdog process waits for the JVM's end).
 *
 * <p>Use it for tests that crash or restart a server ({@link #stop()}, {@link #restart()}); tests that only need
 * <em>a</em> server share {@link TestRedis#get()}.
 *
 * <p><b>Threading</b>: every method blocks until the server is up or gone; call them from the test thread.
 */
public final class RedisServerProcess implements AutoCloseable {

    /** System property that selects the executable: a path, or {@code bundled} for the embedded-redis one. */
    public static final String EXECUTABLE_PROPERTY = "reactivelocks.test.redis-server";

    private static @Nullable Path executable;
    private static String executableDescription = "";

    private final int port;
    private final Path dir;
    private final List<String> leading;
    private final List<String> options;
    private @Nullable Process process;
    private @Nullable Watchdog watchdog;

    private RedisServerProcess(int port, Path dir, List<String> leading, List<String> options) {
        this.port = port;
        this.dir = dir;
        this.leading = leading;
        this.options = options;
    }

    /**
     * Starts a server on a free port and waits until it answers {@code PING}.
     *
     * @throws IOException when it does not answer within 10 seconds (the message carries its log)
     */
    public static RedisServerProcess start() throws IOException, InterruptedException {
        return start("redis", List.of());
    }

    /** Starts a server with more {@code redis-server} options, in a directory named after {@code kind}. */
    static RedisServerProcess start(String kind, List<String> options) throws IOException, InterruptedException {
        return start(kind, List.of(), options);
    }

    /** Starts a server with arguments before the port (such as a configuration file) and more options after. */
    static RedisServerProcess start(String kind, List<String> leading, List<String> options)
            throws IOException, InterruptedException {
        IOException last = null;
        executable();   // before any working directory: a missing executable leaves none behind
        for (int attempt = 0; attempt < 3; attempt++) {   // the free port may be taken before redis-server binds it
            RedisServerProcess server = new RedisServerProcess(ServerSupport.freePort(), ServerSupport.newWorkDirectory(kind),
                    leading, options);
            try {
                server.launch();
                return server;
            } catch (IOException e) {
                last = e;
            }
        }
        throw last;
    }

    /** The server's port on 127.0.0.1. */
    public int port() {
        return port;
    }

    /** The process id of the running server. */
    public long pid() {
        Process p = process;
        if (p == null) {
            throw new IllegalStateException("redis-server on port " + port + " is not running");
        }
        return p.pid();
    }

    /** A URI of this server whose connections are named {@code clientName}, with a five-second command timeout. */
    public RedisURI uri(String clientName) {
        return RedisURI.builder().withHost("127.0.0.1").withPort(port).withClientName(clientName)
                .withTimeout(Duration.ofSeconds(5)).build();
    }

    /** Which executable runs, e.g. {@code redis-server 7.0.15 from /usr/bin/redis-server}. */
    public static synchronized String executableDescription() throws IOException {
        executable();
        return executableDescription;
    }

    static synchronized Path executable() throws IOException {
        if (executable == null) {
            String chosen = System.getProperty(EXECUTABLE_PROPERTY, "");
            Path onPath = ServerSupport.onPath("redis-server");
            boolean bundled = chosen.equals("bundled") || (chosen.isEmpty() && onPath == null);
            Path path = bundled ? bundled(onPath == null) : chosen.isEmpty() ? onPath : Path.of(chosen);
            String version = ServerSupport.output(path.toString(), "--version");   // "Redis server v=7.0.15 sha=..."
            String number = version == null || !version.contains(" v=") ? "" : version.substring(version.indexOf(" v=") + 3);
            number = number.contains(" ") ? number.substring(0, number.indexOf(' ')) + " " : number.isEmpty() ? "" : number + " ";
            executable = path;
            executableDescription = "redis-server " + number + (bundled ? "bundled in embedded-redis" : "from " + path);
        }
        return executable;
    }

    /**
     * The {@code redis-server} bundled in {@code com.github.codemonstur:embedded-redis}, an optional dependency,
     * copied once per machine under {@code java.io.tmpdir/reactive-locks-redis/} (embedded-redis's own copy is one
     * per JVM, left in the temporary directory when the JVM is killed).
     */
    private static Path bundled(boolean noneOnPath) throws IOException {
        String resource;
        try {
            resource = ExecutableProvider.newProvidedVersionsMap().get(OsArchitecture.detectOSandArchitecture());
        } catch (NoClassDefFoundError e) {
            throw new IOException((noneOnPath ? "no redis-server on the PATH, and " : "")
                    + ServerSupport.missingDependency("com.github.codemonstur:embedded-redis", "a bundled redis-server"), e);
        } catch (RuntimeException e) {
            throw new IOException("embedded-redis has no redis-server for this system: " + ServerSupport.describe(e), e);
        }
        if (resource == null) {
            throw new IOException("embedded-redis has no redis-server for " + System.getProperty("os.name") + " "
                    + System.getProperty("os.arch"));
        }
        byte[] binary;
        try (InputStream in = ExecutableProvider.class.getResourceAsStream(resource)) {
            if (in == null) {
                throw new IOException("embedded-redis lacks its resource " + resource);
            }
            binary = in.readAllBytes();
        }
        String file = resource.substring(resource.lastIndexOf('/') + 1);
        return ServerSupport.cached("redis", binary, dir -> {
            Path copy = dir.resolve(file);
            Files.write(copy, binary);
            Files.setPosixFilePermissions(copy, PosixFilePermissions.fromString("r-xr-xr-x"));
        }).resolve(file);
    }

    private void launch() throws IOException, InterruptedException {
        Files.createDirectories(dir);
        Path log = dir.resolve("redis.log");
        List<String> command = new java.util.ArrayList<>(List.of(executable().toString()));
        command.addAll(leading);
        command.addAll(List.of("--port", Integer.toString(port),
                "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--daemonize", "no",
                "--dir", dir.toString()));
        command.addAll(options);
        Process p = new ProcessBuilder(command)
                .redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile()))
                .start();
        process = p;
        watchdog = Watchdog.guard(p.pid(), "KILL", dir);
        long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
        String pid = Long.toString(p.pid());
        String answering;
        // the server that answers must be this one: another one may have taken the port before it bound it
        while (!pid.equals(answering = processId(port))) {
            if (answering != null) {
                stop();
                throw new IOException("port " + port + " is taken by another Redis server (process " + answering + ")");
            }
            if (!p.isAlive() || System.nanoTime() > deadline) {
                String output = ServerSupport.tail(log);
                stop();
                throw new IOException(executableDescription + " did not start on port " + port + ": " + output);
            }
            Thread.sleep(20);   // polling a child process that has no readiness signal
        }
    }

    /** The {@code process_id} that the Redis server on {@code port} reports, or null when none answers. */
    private static @Nullable String processId(int port) {
        String info = ServerSupport.redisCommand(port, "INFO server");
        if (info == null) {
            return null;
        }
        return info.lines().filter(line -> line.startsWith("process_id:")).findFirst()
                .map(line -> line.substring("process_id:".length()).trim()).orElse(null);
    }

    /** Kills the server (SIGKILL, as a crash) and waits until it is gone. Does nothing if it is not running. */
    public void stop() throws InterruptedException {
        Process p = process;
        if (p != null && p.isAlive()) {
            p.destroyForcibly();
            p.waitFor();
        }
        Watchdog w = watchdog;
        if (w != null) {
            w.release();
            watchdog = null;
        }
    }

    /** Whether the server process runs. */
    boolean isRunning() {
        Process p = process;
        return p != null && p.isAlive();
    }

    /**
     * Kills the server and starts a fresh one, with no data, on the same port.
     *
     * @throws IOException when it does not answer within 10 seconds, or when another server took the port meanwhile
     */
    public void restart() throws IOException, InterruptedException {
        stop();
        launch();
    }

    /** Kills the server and deletes its working directory. */
    @Override
    public void close() throws InterruptedException {
        stop();
        try {
            ServerSupport.deleteTree(dir);
        } catch (IOException e) {
            // a leftover directory under target/ is harmless
        }
    }

    @Override
    public String toString() {
        return "RedisServerProcess[127.0.0.1:" + port + "]";
    }
}
