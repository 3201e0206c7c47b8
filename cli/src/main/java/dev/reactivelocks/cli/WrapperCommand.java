package dev.reactivelocks.cli;

import dev.reactivelocks.cli.ReactiveLocksCli.CliFailure;
import java.io.IOException;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.List;
import java.util.concurrent.Callable;
import org.jspecify.annotations.Nullable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;
import picocli.CommandLine.Spec;

/**
 * {@code reactive-locks wrapper}: runs a command with a fresh private lock directory in
 * {@value ReactiveLocksCli#LOCK_DIR_ENV}, then removes the directory (oslo.concurrency's
 * {@code lockutils-wrapper}, for test runs). {@code FileLockService}s of the command and its child
 * processes that are configured from the environment, and {@code reactive-locks run} without
 * {@code --lock-dir}, then lock files in that directory.
 */
@Command(name = "wrapper", sortOptions = false, mixinStandardHelpOptions = true,
        showEndOfOptionsDelimiterInUsageHelp = true, versionProvider = ReactiveLocksCli.Version.class,
        description = {
            "Creates a private temporary lock directory, runs COMMAND with " + ReactiveLocksCli.LOCK_DIR_ENV
                    + " set to it, removes the directory and exits with COMMAND's exit code.",
            "The directory is created in $TMPDIR, else in the JVM's temporary directory.",
            "SIGTERM or Ctrl-C kill COMMAND with its descendants, then remove the directory.",
            ChildProcess.DESCENDANTS_HELP
        })
final class WrapperCommand implements Callable<Integer> {

    @Spec
    private CommandSpec spec;

    @ParentCommand
    private ReactiveLocksCli root;

    @Parameters(arity = "1..*", paramLabel = "COMMAND",
            description = "The command and its arguments; put them after '--'.")
    private List<String> command;

    private final Object guard = new Object();
    private @Nullable ChildProcess child;
    private boolean stopped;

    @Override
    public Integer call() {
        Path directory = createDirectory();
        boolean stopping = false;
        try (StopHook hook = StopHook.install("reactive-locks-wrapper-stop", () -> stop(directory))) {
            try {
                ChildProcess started;
                synchronized (guard) {
                    if (stopped) {
                        return ReactiveLocksCli.EXIT_FAILURE;
                    }
                    started = ChildProcess.start(command, ReactiveLocksCli.lockDirectoryEnvironment(directory));
                    child = started;
                }
                return started.waitFor();
            } finally {
                stopping = hook.stopping();
            }
        } finally {
            if (!stopping) {
                remove(directory);
            }
        }
    }

    private Path createDirectory() {
        String tmp = root.getenv("TMPDIR");
        try {
            // rwx------ where the file system has POSIX permissions
            return tmp == null || tmp.isBlank()
                    ? Files.createTempDirectory("reactive-locks-")
                    : Files.createTempDirectory(Path.of(tmp), "reactive-locks-");
        } catch (IOException | RuntimeException e) {
            throw new CliFailure(ReactiveLocksCli.EXIT_FAILURE, "cannot create a temporary lock directory"
                    + (tmp == null || tmp.isBlank() ? "" : " in TMPDIR '" + tmp + "'") + ": " + e);
        }
    }

    private void stop(Path directory) {
        ChildProcess running;
        synchronized (guard) {
            stopped = true;
            running = child;
        }
        if (running != null) {
            running.destroyTree(ChildProcess.KILL_GRACE);
        }
        remove(directory);
    }

    /** Deletes the directory and everything in it, without following symbolic links; warns on failure. */
    private void remove(Path directory) {
        if (!Files.exists(directory, LinkOption.NOFOLLOW_LINKS)) {
            return; // the command removed it
        }
        try {
            Files.walkFileTree(directory, new SimpleFileVisitor<>() {
                @Override
                public FileVisitResult visitFile(Path file, BasicFileAttributes attrs) throws IOException {
                    Files.deleteIfExists(file);
                    return FileVisitResult.CONTINUE;
                }

                @Override
                public FileVisitResult postVisitDirectory(Path dir, @Nullable IOException e) throws IOException {
                    if (e != null) {
                        throw e;
                    }
                    Files.deleteIfExists(dir);
                    return FileVisitResult.CONTINUE;
                }
            });
        } catch (IOException e) {
            spec.commandLine().getErr().println(spec.qualifiedName() + ": cannot remove lock directory '"
                    + directory + "': " + e);
            spec.commandLine().getErr().flush();
        }
    }
}
