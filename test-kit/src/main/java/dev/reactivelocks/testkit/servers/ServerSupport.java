package dev.reactivelocks.testkit.servers;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;
import java.util.zip.CRC32;
import org.jspecify.annotations.Nullable;

/** What the PostgreSQL and Redis look-ups share: ports, working directories, processes, the log line. */
final class ServerSupport {

    /** How long a local default address may take to accept a TCP connection before it counts as absent. */
    static final Duration LOCAL_CONNECT_TIMEOUT = Duration.ofMillis(500);
    /** System property naming the directory under which embedded servers keep their data. Defaults to {@code target}. */
    static final String WORK_DIRECTORY_PROPERTY = "reactivelocks.test.servers.dir";

    private static final AtomicInteger SEQUENCE = new AtomicInteger();

    private ServerSupport() {
    }

    /** Prints {@code line} to standard error (standard output may be a child JVM's protocol with its parent). */
    static void log(String line) {
        System.err.println("[reactive-locks test servers] " + line);
        System.err.flush();
    }

    /** Whether something accepts TCP connections at {@code host:port} within {@code timeout}. */
    static boolean accepts(String host, int port, Duration timeout) {
        try (Socket s = new Socket()) {
            s.connect(new InetSocketAddress(host, port), (int) timeout.toMillis());
            return true;
        } catch (IOException e) {
            return false;
        }
    }

    /** A port on 127.0.0.1 that was free a moment ago. */
    static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getByName("127.0.0.1"))) {
            return s.getLocalPort();
        }
    }

    /** A new directory for one server of this JVM: {@code target/test-servers/<kind>-<pid>-<n>}. */
    static Path newWorkDirectory(String kind) throws IOException {
        Path root = Path.of(System.getProperty(WORK_DIRECTORY_PROPERTY, "target"), "test-servers").toAbsolutePath();
        Path dir = root.resolve(kind + "-" + ProcessHandle.current().pid() + "-" + SEQUENCE.incrementAndGet());
        return Files.createDirectories(dir);
    }

    /** Where {@code program} is on the {@code PATH}, or null. */
    static @Nullable Path onPath(String program) {
        String path = System.getenv("PATH");
        if (path != null) {
            for (String dir : path.split(java.io.File.pathSeparator)) {
                if (!dir.isEmpty()) {
                    Path candidate = Path.of(dir, program);
                    if (Files.isRegularFile(candidate) && Files.isExecutable(candidate)) {
                        return candidate;
                    }
                }
            }
        }
        return null;
    }

    /** Fills a new directory with what a {@linkplain #cached cache entry} holds. */
    interface Filler {
        void fill(Path directory) throws IOException;
    }

    /**
     * The directory {@code java.io.tmpdir/reactive-locks-<kind>/<checksum>-<length>} of {@code content}, filled by
     * {@code filler} once per machine and shared by every test JVM: a JVM fills a new directory under a file lock and
     * moves it into place, complete, in one step. What a JVM killed while it filled one left behind is removed by the
     * next JVM that looks for the entry.
     */
    static Path cached(String kind, byte[] content, Filler filler) throws IOException {
        CRC32 crc = new CRC32();
        crc.update(content);
        Path root = Files.createDirectories(Path.of(System.getProperty("java.io.tmpdir"), "reactive-locks-" + kind));
        String name = Long.toHexString(crc.getValue()) + "-" + content.length;
        Path dir = root.resolve(name);
        String partial = name + ".partial-";
        if (Files.exists(dir.resolve(".complete")) && partials(root, partial).isEmpty()) {
            return dir;
        }
        try (FileChannel channel = FileChannel.open(root.resolve(name + ".lock"), StandardOpenOption.CREATE,
                StandardOpenOption.WRITE); FileLock lock = channel.lock()) {   // other test JVMs may fill it too
            for (Path left : partials(root, partial)) {   // only the holder of the lock fills one: these are left over
                deleteTree(left);
            }
            if (!Files.exists(dir.resolve(".complete"))) {
                Path tmp = Files.createTempDirectory(root, partial);
                filler.fill(tmp);
                Files.createFile(tmp.resolve(".complete"));
                if (Files.exists(dir)) {
                    deleteTree(dir);
                }
                Files.move(tmp, dir, StandardCopyOption.ATOMIC_MOVE);
                Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwxr-xr-x"));
            }
        }
        return dir;
    }

    private static List<Path> partials(Path root, String prefix) throws IOException {
        try (Stream<Path> entries = Files.list(root)) {
            return entries.filter(p -> p.getFileName().toString().startsWith(prefix)).toList();
        }
    }

    /** Deletes {@code dir} and everything below it; links are deleted, never followed. */
    static void deleteTree(Path dir) throws IOException {
        try (Stream<Path> paths = Files.walk(dir)) {
            for (Path p : (Iterable<Path>) paths.sorted(Comparator.reverseOrder())::iterator) {
                Files.deleteIfExists(p);
            }
        }
    }

    /** Runs {@code command} to completion with its output in {@code log}; fails with the end of the log. */
    static void run(List<String> command, Path log, Duration timeout) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(log.toFile()).start();
        if (!p.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
            p.destroyForcibly();
            throw new IOException(String.join(" ", command) + " did not finish within " + timeout + ": " + tail(log));
        }
        if (p.exitValue() != 0) {
            throw new IOException(String.join(" ", command) + " exited with " + p.exitValue() + ": " + tail(log));
        }
    }

    /** The output of {@code command} (one line), or null when it cannot run. */
    static @Nullable String output(String... command) {
        try {
            Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
            return p.waitFor() == 0 ? out : null;
        } catch (IOException e) {
            return null;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return null;
        }
    }

    /** The last lines of a log file, for failure messages. */
    static String tail(Path log) {
        try {
            List<String> lines = Files.readAllLines(log, StandardCharsets.UTF_8);
            return String.join("\n", new ArrayList<>(lines.subList(Math.max(0, lines.size() - 20), lines.size())));
        } catch (IOException e) {
            return "(no log at " + log + ")";
        }
    }

    /** The first line a plain RESP command gets from a Redis server without a password, or null. */
    static @Nullable String redisCommand(int port, String command) {
        try (Socket s = new Socket()) {
            s.connect(new InetSocketAddress("127.0.0.1", port), 200);
            s.setSoTimeout(2000);
            OutputStream out = s.getOutputStream();
            out.write((command + "\r\n").getBytes(StandardCharsets.US_ASCII));
            out.flush();
            InputStream in = s.getInputStream();
            byte[] buf = new byte[8192];
            int n = in.read(buf);
            return n <= 0 ? null : new String(buf, 0, n, StandardCharsets.US_ASCII);
        } catch (IOException e) {
            return null;
        }
    }

    /**
     * Why an optional dependency of the test kit is needed: {@code coordinates} (group:artifact) is not on the test
     * class path, and it brings {@code what}; add it with test scope.
     */
    static String missingDependency(String coordinates, String what) {
        return coordinates + ", which brings " + what + ", is not on the test class path (the test kit declares it"
                + " optional): add it to the tests' dependencies with <scope>test</scope>";
    }

    /** The exception and, when it has one, its root cause, in one line. */
    static String describe(Throwable e) {
        Throwable root = e;
        while (root.getCause() != null && root.getCause() != root) {
            root = root.getCause();
        }
        String text = e.getClass().getSimpleName() + ": " + e.getMessage();
        return root == e ? text : text + ", caused by " + root.getClass().getSimpleName() + ": " + root.getMessage();
    }

    /** {@code url} with the password part of its user information replaced by {@code ***}. */
    static String redacted(String url) {
        return url.replaceFirst("://([^:/@]*):[^@/]*@", "://$1:***@");
    }

    /**
     * The command prefix that runs a server as an unprivileged user when this JVM runs as root (PostgreSQL refuses
     * to run as root), after giving {@code directory} to that user; empty otherwise.
     */
    static List<String> unprivileged(Path directory) throws IOException, InterruptedException {
        if (!"root".equals(System.getProperty("user.name"))) {
            return List.of();
        }
        String user = output("id", "-u", "postgres") != null ? "postgres" : "nobody";
        String uid = output("id", "-u", user);
        String gid = output("id", "-g", user);
        if (uid == null || gid == null || onPath("setpriv") == null) {
            throw new IOException("this JVM runs as root, PostgreSQL refuses to, and there is no user 'postgres' or"
                    + " 'nobody' and setpriv(1) (util-linux) to run it as; run the tests as another user");
        }
        run(List.of("chown", "-R", uid + ":" + gid, directory.toString()), directory.resolveSibling(
                directory.getFileName() + ".chown.log"), Duration.ofSeconds(30));
        Files.deleteIfExists(directory.resolveSibling(directory.getFileName() + ".chown.log"));
        return List.of("setpriv", "--reuid=" + uid, "--regid=" + gid, "--clear-groups", "--");
    }
}
