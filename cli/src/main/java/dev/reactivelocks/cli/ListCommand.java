package dev.reactivelocks.cli;

import dev.reactivelocks.cli.ReactiveLocksCli.CliFailure;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.file.AccessDeniedException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.stream.Stream;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.ParentCommand;
import picocli.CommandLine.Spec;

/**
 * {@code reactive-locks list}: one line per lock file of the directory, sorted by name, with its state
 * found by probing: an exclusive {@code tryLock} that succeeds means {@code free}; else a shared one that
 * succeeds means {@code held (shared)}; else {@code held (exclusive)}.
 *
 * <p>The probes take and at once drop real POSIX locks on the whole file (the locks
 * {@link dev.reactivelocks.file.FileLockService} and Python's {@code fcntl.lockf} take), never wait,
 * never create or modify a file, and skip directories and symbolic links. POSIX locks belong to a process,
 * so the probe only tells about <em>other</em> processes, which is why it runs in this tool's own process
 * and holds no lock itself. The answer is a snapshot: the state may change right after. A waiter of
 * another process that polls exactly while a probe holds the file tries again at its next poll.
 *
 * <p>File names are printed {@linkplain #escaped(String) escaped}: a control character in a name (a
 * newline that would forge another line, an ANSI escape sequence that would reach the terminal) is printed
 * as a backslash escape, so each lock file is exactly one line of plain text.
 */
@Command(name = "list", sortOptions = false, mixinStandardHelpOptions = true,
        versionProvider = ReactiveLocksCli.Version.class,
        description = {
            "Lists the lock files in DIR with their state now: free, held (shared) or held (exclusive).",
            "The state is found with non-blocking lock attempts; this command holds no lock itself."
        })
final class ListCommand implements Callable<Integer> {

    static final String FREE = "free";
    static final String HELD_SHARED = "held (shared)";
    static final String HELD_EXCLUSIVE = "held (exclusive)";

    @Spec
    private CommandSpec spec;

    @ParentCommand
    private ReactiveLocksCli root;

    @Mixin
    private LockDirectoryOption lockDirectory;

    @Override
    public Integer call() {
        Path dir = lockDirectory.resolve(spec, root);
        if (!Files.isDirectory(dir)) {
            throw new CliFailure(ReactiveLocksCli.EXIT_FAILURE, "lock directory '" + dir + "' "
                    + (Files.exists(dir) ? "is not a directory" : "does not exist"));
        }
        List<Path> files = new ArrayList<>();
        try (Stream<Path> entries = Files.list(dir)) {
            entries.filter(p -> Files.isRegularFile(p, LinkOption.NOFOLLOW_LINKS)).sorted().forEach(files::add);
        } catch (IOException | RuntimeException e) {
            throw new CliFailure(ReactiveLocksCli.EXIT_FAILURE, "cannot read lock directory '" + dir + "': " + e);
        }
        List<String> names = new ArrayList<>(files.size());
        int width = 0;
        for (Path file : files) {
            String name = escaped(file.getFileName().toString());
            names.add(name);
            width = Math.max(width, name.length());
        }
        PrintWriter out = spec.commandLine().getOut();
        for (int i = 0; i < files.size(); i++) {
            String name = names.get(i);
            out.println(name + " ".repeat(width - name.length()) + "  " + escaped(probe(files.get(i))));
        }
        out.flush();
        return 0;
    }

    /**
     * {@code text} made safe for one line of a terminal: a backslash becomes {@code \\}; newline, carriage
     * return and tab become {@code \n}, {@code \r}, {@code \t}; any other control character (C0, DEL,
     * C1, such as the {@code ESC} that starts ANSI sequences) becomes {@code \xNN}; line and paragraph
     * separators and invisible format characters (bidirectional overrides) become <code>&#92;uNNNN</code>.
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
            } else if (Character.isISOControl(c)) {
                b.append(String.format("\\x%02x", (int) c));
            } else if (type == Character.FORMAT || type == Character.LINE_SEPARATOR
                    || type == Character.PARAGRAPH_SEPARATOR) {
                b.append(String.format("\\u%04x", (int) c));
            } else {
                b.append(c);
            }
        }
        return b.toString();
    }

    /** The state of {@code file}'s POSIX lock as seen from this process, which holds none. */
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
                return HELD_SHARED;
            }
            return HELD_EXCLUSIVE;
        } catch (AccessDeniedException e) {
            return "unknown (no read and write permission)";
        } catch (IOException | RuntimeException e) {
            return "unknown (" + e + ")";
        }
    }
}
