package dev.reactivelocks.cli;

import dev.reactivelocks.LockInfo;
import dev.reactivelocks.LockMode;
import dev.reactivelocks.cli.ReactiveLocksCli.CliFailure;
import dev.reactivelocks.distributed.DistributedLockService;
import dev.reactivelocks.file.FileLockConfig;
import dev.reactivelocks.file.FileLockService;
import dev.reactivelocks.postgres.PostgresLockBackend;
import dev.reactivelocks.postgres.PostgresLockConfig;
import dev.reactivelocks.redis.RedisLockBackend;
import dev.reactivelocks.spi.LockBackend;
import io.lettuce.core.RedisClient;
import io.r2dbc.spi.ConnectionFactory;
import java.io.File;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.file.AccessDeniedException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.Callable;
import java.util.stream.Stream;
import org.jspecify.annotations.Nullable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;
import picocli.CommandLine.Spec;

/**
 * {@code reactive-locks list}: the locks of a lock directory, or of a PostgreSQL or Redis lock store, one
 * line each, sorted by name, with the same columns for every source: name, mode, holders, waiting,
 * fencing token, held since, lease expiry and owners ({@code -} where the source cannot tell); or, with
 * {@code --json}, a JSON array of objects with those fields.
 *
 * <p><b>Lock directory</b> ({@code --lock-dir}): every lock file, free ones too (mode {@code free}). On
 * Linux the holders are read from the kernel's table of locks ({@code /proc/locks}, through
 * {@link FileLockService#inspect(String)}): each holding process is a holder and an owner,
 * {@code host:pid}; requests blocked in {@code fcntl} count as waiting. Elsewhere the state is found by
 * probing: an exclusive {@code tryLock} that succeeds means free, else a shared one that succeeds means
 * held shared, else held exclusively. The probes take and at once drop real POSIX locks on the whole file,
 * never wait, never create or modify a file, and only tell about <em>other</em> processes, which is why they
 * run in this tool's own process, which holds no lock. A file whose name no lock name maps to (bytes that
 * are no valid text in the file-name encoding, such as {@code 0xff} under UTF-8) is probed on Linux too.
 * Directories and symbolic links are skipped.
 *
 * <p><b>Lock store</b> (a URL): the names with a live lease ({@link DistributedLockService#storedLocks}),
 * read without taking or waiting for anything; owners are those the holding services were built with.
 *
 * <p>Every answer is a snapshot: the state may change right after. Names and owners are printed
 * {@linkplain #escaped(String) escaped}: a control character (a newline that would forge another line, an
 * ANSI escape sequence that would reach the terminal) and a space (which would forge another column) are
 * printed as backslash escapes, so each lock is exactly one line of plain text with one cell per column,
 * the cells separated by spaces; bash's {@code printf '%b'} turns a cell back into the name. No credential
 * is ever printed (see {@link PurgeCommand}).
 */
@Command(name = "list", sortOptions = false, mixinStandardHelpOptions = true,
        versionProvider = ReactiveLocksCli.Version.class,
        description = {
            "Lists the locks of the lock directory DIR, or of the PostgreSQL or Redis lock store at URL:",
            "name, mode (free, SHARED or EXCLUSIVE), holders, waiting, fencing token, held since, lease expiry",
            "and owners, '-' where unknown. Nothing is locked or changed.",
            "Names and owners are printed with backslash escapes, so that each line has",
            "one cell per column: a space as \\x20, a backslash as \\\\, a newline as \\n,",
            "other control characters as \\xNN (bash's printf '%%b' reads them back).",
            LockStores.URL_HELP,
            LockStores.URL_HELP_REDIS,
            "Credentials are never printed: messages show the URL with passwords replaced by ***."
        })
final class ListCommand implements Callable<Integer> {

    static final String FREE = "free";
    private static final Duration READ_TIMEOUT = Duration.ofSeconds(60);
    private static final String[] HEADER = {"NAME", "MODE", "HOLDERS", "WAITING", "FENCING", "HELD-SINCE",
        "LEASE-EXPIRY", "OWNERS"};

    @Spec
    private CommandSpec spec;

    @ParentCommand
    private ReactiveLocksCli root;

    @Mixin
    private LockDirectoryOption lockDirectory;

    @Parameters(index = "0", arity = "0..1", paramLabel = "URL",
            description = "A PostgreSQL or Redis lock store, instead of a lock directory.")
    private @Nullable String url;

    @Option(names = "--prefix", paramLabel = "PREFIX", defaultValue = "",
            description = "Only the locks whose names start with PREFIX (in a lock directory: whose file"
                    + " names start with PREFIX with '/' replaced by '_').")
    private String prefix;

    @Option(names = "--table", paramLabel = "TABLE", defaultValue = "reactive_locks",
            description = "PostgreSQL only: the lease table, [schema.]name. Defaults to ${DEFAULT-VALUE}.")
    private String table;

    @Option(names = "--key-prefix", paramLabel = "PREFIX", defaultValue = "reactivelocks:",
            description = "Redis only: the key prefix of the lock backend. Defaults to ${DEFAULT-VALUE}.")
    private String keyPrefix;

    @Option(names = "--json", description = "Print a JSON array instead of columns.")
    private boolean json;

    @Override
    public Integer call() {
        if (url != null && lockDirectory.given()) {
            throw new ParameterException(spec.commandLine(), "Give either --lock-dir DIR or a URL, not both");
        }
        List<Row> rows = url != null ? storeRows(url) : directoryRows(lockDirectory.resolve(spec, root));
        rows.sort(Comparator.comparing(Row::name));
        PrintWriter out = spec.commandLine().getOut();
        out.print(json ? json(rows) : columns(rows));
        out.flush();
        if (out.checkError()) { // a full disk, a closed pipe: the list is cut or empty
            throw new CliFailure(ReactiveLocksCli.EXIT_FAILURE, "cannot write to standard output");
        }
        return 0;
    }

    /** One lock: its name and the other columns, {@code null} where unknown. */
    record Row(String name, String mode, @Nullable Integer holders, @Nullable Integer waiting,
               @Nullable Long fencingToken, @Nullable Instant heldSince, @Nullable Instant leaseExpiry,
               List<String> owners) {

        static Row of(LockInfo info) {
            return new Row(info.name(), info.mode().name(), info.holders(),
                    info.waiting().isPresent() ? info.waiting().getAsInt() : null,
                    info.fencingToken().isPresent() ? info.fencingToken().getAsLong() : null,
                    info.heldSince().orElse(null), info.leaseExpiry().orElse(null), info.owners());
        }

        static Row withMode(String name, String mode) {
            return new Row(name, mode, null, null, null, null, null, List.of());
        }

        String[] cells() {
            return new String[] {escaped(name), mode, text(holders), text(waiting), text(fencingToken),
                text(heldSince), text(leaseExpiry), owners.isEmpty() ? "-" : escaped(String.join(",", owners))};
        }

        private static String text(@Nullable Object value) {
            return value == null ? "-" : value instanceof Instant t ? t.truncatedTo(ChronoUnit.MILLIS).toString()
                    : value.toString();
        }
    }

    private List<Row> directoryRows(Path dir) {
        if (!Files.isDirectory(dir)) {
            throw new CliFailure(ReactiveLocksCli.EXIT_FAILURE, "lock directory '" + dir + "' "
                    + (Files.exists(dir) ? "is not a directory" : "does not exist"));
        }
        List<Path> files = new ArrayList<>();
        // the prefix of a lock name, mapped as names are mapped to file names ('/' becomes '_')
        String filePrefix = prefix.replace('/', '_').replace(File.separatorChar, '_');
        try (Stream<Path> entries = Files.list(dir)) {
            entries.filter(p -> Files.isRegularFile(p, LinkOption.NOFOLLOW_LINKS))
                    .filter(p -> p.getFileName().toString().startsWith(filePrefix))
                    .forEach(files::add);
        } catch (IOException | RuntimeException e) {
            throw new CliFailure(ReactiveLocksCli.EXIT_FAILURE, "cannot read lock directory '" + dir + "': " + e);
        }
        List<Row> rows = new ArrayList<>();
        if (!Files.isReadable(PROC_LOCKS)) {
            files.forEach(f -> rows.add(Row.withMode(f.getFileName().toString(), probe(f))));
            return rows;
        }
        FileLockConfig config = FileLockConfig.builder().lockDirectory(dir).build();
        FileLockService service = FileLockService.create(config);
        try {
            for (Path file : files) {
                String name = file.getFileName().toString();
                if (!mapsTo(config, name, file)) {
                    rows.add(Row.withMode(name, probe(file))); // a file name that no lock name maps to
                    continue;
                }
                LockInfo info = service.inspect(name).block(READ_TIMEOUT);
                rows.add(info == null ? Row.withMode(name, FREE) : Row.of(info));
            }
        } catch (RuntimeException e) {
            throw new CliFailure(ReactiveLocksCli.EXIT_FAILURE, "cannot read lock directory '" + dir + "': " + e);
        } finally {
            service.dispose();
        }
        return rows;
    }

    private static final Path PROC_LOCKS = Path.of("/proc/locks");

    /**
     * Whether the lock {@code name} (the text of {@code file}'s name) has {@code file} as its lock file. Not
     * when the name's bytes are no valid text in the platform's file-name encoding: the decoded name (with
     * U+FFFD in it) then maps to another file, or to none.
     */
    private static boolean mapsTo(FileLockConfig config, String name, Path file) {
        try {
            return config.lockFile(name).equals(file);
        } catch (IllegalArgumentException e) {
            return false;
        }
    }

    private List<Row> storeRows(String storeUrl) {
        RedactedUrl shown = RedactedUrl.of(storeUrl);
        if (LockStores.isRedis(shown)) {
            LockStores.Redis redis = LockStores.redis(spec, storeUrl, shown, keyPrefix);
            RedisClient client = RedisClient.create();
            try {
                RedisLockBackend backend = RedisLockBackend.create(client, redis.uri(), redis.config());
                try {
                    return read(backend, shown, "under key prefix '" + keyPrefix + "'");
                } finally {
                    backend.close().block(READ_TIMEOUT);
                }
            } finally {
                LockStores.shutdown(client);
            }
        }
        PostgresLockConfig config = LockStores.postgresConfig(spec, table);
        ConnectionFactory factory = LockStores.postgres(spec, storeUrl, shown);
        return read(PostgresLockBackend.create(factory, config), shown, "from table '" + table + "'");
    }

    private List<Row> read(LockBackend backend, RedactedUrl shown, String where) {
        try {
            List<LockInfo> infos = DistributedLockService.storedLocks(backend, prefix).collectList().block(READ_TIMEOUT);
            List<Row> rows = new ArrayList<>();
            Objects.requireNonNull(infos, "locks").forEach(i -> rows.add(Row.of(i)));
            return rows;
        } catch (RuntimeException e) {
            throw new CliFailure(ReactiveLocksCli.EXIT_FAILURE, "cannot list the locks " + where + " of " + shown
                    + ": " + shown.sanitise(String.valueOf(e.getMessage())));
        }
    }

    private static String columns(List<Row> rows) {
        List<String[]> lines = new ArrayList<>();
        lines.add(HEADER);
        rows.forEach(r -> lines.add(r.cells()));
        int[] widths = new int[HEADER.length];
        for (String[] line : lines) {
            for (int i = 0; i < line.length; i++) {
                widths[i] = Math.max(widths[i], line[i].length());
            }
        }
        StringBuilder b = new StringBuilder();
        for (String[] line : lines) {
            StringBuilder l = new StringBuilder();
            for (int i = 0; i < line.length; i++) {
                l.append(line[i]).append(i == line.length - 1 ? "" : " ".repeat(widths[i] - line[i].length() + 2));
            }
            b.append(l.toString().stripTrailing()).append('\n');
        }
        return b.toString();
    }

    /** The rows as a JSON array; unknown values are {@code null}. */
    static String json(List<Row> rows) {
        StringBuilder b = new StringBuilder("[");
        for (int i = 0; i < rows.size(); i++) {
            Row r = rows.get(i);
            b.append(i == 0 ? "\n  {" : ",\n  {")
                    .append("\"name\": ").append(jsonString(r.name()))
                    .append(", \"mode\": ").append(jsonString(r.mode()))
                    .append(", \"holders\": ").append(r.holders())
                    .append(", \"waiting\": ").append(r.waiting())
                    .append(", \"fencingToken\": ").append(r.fencingToken())
                    .append(", \"heldSince\": ").append(r.heldSince() == null ? "null" : jsonString(r.heldSince().toString()))
                    .append(", \"leaseExpiry\": ").append(r.leaseExpiry() == null ? "null" : jsonString(r.leaseExpiry().toString()))
                    .append(", \"owners\": [");
            for (int k = 0; k < r.owners().size(); k++) {
                b.append(k == 0 ? "" : ", ").append(jsonString(r.owners().get(k)));
            }
            b.append("]}");
        }
        return b.append(rows.isEmpty() ? "]\n" : "\n]\n").toString();
    }

    /** {@code s} as a JSON string literal; everything outside printable ASCII is escaped. */
    static String jsonString(String s) {
        StringBuilder b = new StringBuilder("\"");
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c == '"' || c == '\\') {
                b.append('\\').append(c);
            } else if (c < 0x20 || c > 0x7e) {
                b.append(String.format("\\u%04x", (int) c));
            } else {
                b.append(c);
            }
        }
        return b.append('"').toString();
    }

    /**
     * {@code text} made safe for one cell of a line of a terminal: a backslash becomes {@code \\}; newline,
     * carriage return and tab become {@code \n}, {@code \r}, {@code \t}; a space and any other control
     * character (C0, DEL, C1, such as the {@code ESC} that starts ANSI sequences) become {@code \xNN}
     * ({@code \x20} for a space); line and paragraph separators, other spaces (such as the no-break space)
     * and invisible format characters (bidirectional overrides) become <code>&#92;uNNNN</code>. The result
     * holds no whitespace, and bash's {@code printf '%b'} turns it back into {@code text}.
     */
    static String escaped(String text) {
        StringBuilder b = new StringBuilder(text.length());
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            int type = Character.getType(c);
            if (c == '\\') {
                b.append("\\\\");
            } else if (c == '\n') {
                b.append("\\n");
            } else if (c == '\r') {
                b.append("\\r");
            } else if (c == '\t') {
                b.append("\\t");
            } else if (Character.isISOControl(c) || c == ' ') {
                b.append(String.format("\\x%02x", (int) c));
            } else if (type == Character.FORMAT || type == Character.LINE_SEPARATOR
                    || type == Character.PARAGRAPH_SEPARATOR || type == Character.SPACE_SEPARATOR) {
                b.append(String.format("\\u%04x", (int) c));
            } else {
                b.append(c);
            }
        }
        return b.toString();
    }

    /**
     * The mode of {@code file}'s POSIX lock as seen from this process, which holds none: {@code free},
     * {@code SHARED}, {@code EXCLUSIVE}, or {@code unknown (why)}.
     */
    static String probe(Path file) {
        try (FileChannel channel = FileChannel.open(file, StandardOpenOption.READ, StandardOpenOption.WRITE,
                LinkOption.NOFOLLOW_LINKS)) {
            FileLock exclusive = channel.tryLock(0L, Long.MAX_VALUE, false);
            if (exclusive != null) {
                exclusive.release();
                return FREE;
            }
            FileLock shared = channel.tryLock(0L, Long.MAX_VALUE, true);
            if (shared != null) {
                shared.release();
                return LockMode.SHARED.name();
            }
            return LockMode.EXCLUSIVE.name();
        } catch (AccessDeniedException e) {
            return "unknown (no read and write permission)";
        } catch (IOException | RuntimeException e) {
            return "unknown (" + e + ")";
        }
    }
}
