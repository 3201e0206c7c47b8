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
        int width = 0;
        for (Path file : files) {
            width = Math.max(width, file.getFileName().toString().length());
        }
        PrintWriter out = spec.commandLine().getOut();
        for (Path file : files) {
            String fileName = file.getFileName().toString();
            out.println(fileName + " ".repeat(width - fileName.length()) + "  " + probe(file));
        }
        out.flush();
        return 0;
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
