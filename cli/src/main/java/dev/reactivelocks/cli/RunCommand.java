package dev.reactivelocks.cli;

import dev.reactivelocks.LockHandle;
import dev.reactivelocks.LockMode;
import dev.reactivelocks.LockOptions;
import dev.reactivelocks.LockTimeoutException;
import dev.reactivelocks.cli.ReactiveLocksCli.CliFailure;
import dev.reactivelocks.file.FileLockConfig;
import dev.reactivelocks.file.FileLockService;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutionException;
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
 * {@code reactive-locks run}: acquires a file lock, runs a command while holding it, releases it, and
 * exits with the command's exit code (util-linux {@code flock(1)}, oslo.concurrency
 * {@code lockutils-wrapper}).
 *
 * <p>The lock is taken through {@link FileLockService}: a POSIX record lock on {@code DIR/NAME}, shared
 * with {@code --shared}, so it excludes other {@code reactive-locks run}s, Java programs using
 * {@code FileLockService} and Python programs using oslo.concurrency or fasteners on the same directory.
 * POSIX locks belong to this tool's process, not to the command: if the tool is killed with
 * {@code SIGKILL}, the lock is released while the command may still run.
 */
@Command(name = "run", sortOptions = false, mixinStandardHelpOptions = true,
        showEndOfOptionsDelimiterInUsageHelp = true, versionProvider = ReactiveLocksCli.Version.class,
        description = {
            "Runs COMMAND while holding the file lock NAME, streams its output and exits with its exit code.",
            "Exits with 75 without running COMMAND when the lock is not acquired within --timeout.",
            "SIGTERM or Ctrl-C kill COMMAND with its descendants, then release the lock.",
            ChildProcess.DESCENDANTS_HELP
        })
final class RunCommand implements Callable<Integer> {

    private static final Duration RELEASE_TIMEOUT = Duration.ofSeconds(10);

    @Spec
    private CommandSpec spec;

    @ParentCommand
    private ReactiveLocksCli root;

    @Mixin
    private LockDirectoryOption lockDirectory;

    @Option(names = "--name", required = true, paramLabel = "NAME",
            description = "Name of the lock; its file is DIR/NAME with '/' replaced by '_'.")
    private String name;

    @Option(names = "--shared", description = "Take a shared lock (many holders) instead of an exclusive one.")
    private boolean shared;

    @Option(names = "--timeout", paramLabel = "DURATION", converter = DurationConverter.class,
            description = "Give up after waiting this long for the lock (for example 250ms, 10s, 2m; 0 or 0s:"
                    + " do not wait). Defaults to waiting until the lock is free.")
    private @Nullable Duration timeout;

    @Parameters(arity = "1..*", paramLabel = "COMMAND",
            description = "The command and its arguments; put them after '--'.")
    private List<String> command;

    private final Object guard = new Object();
    private @Nullable CompletableFuture<@Nullable LockHandle> acquisition;
    private @Nullable ChildProcess child;
    private boolean stopped;

    @Override
    public Integer call() {
        FileLockConfig config = FileLockConfig.builder().lockDirectory(lockDirectory.resolve(spec, root)).build();
        Path lockFile;
        try {
            lockFile = config.lockFile(name);
        } catch (IllegalArgumentException e) {
            throw new ParameterException(spec.commandLine(),
                    "Invalid value for option '--name': " + e.getMessage());
        }
        LockMode mode = shared ? LockMode.SHARED : LockMode.EXCLUSIVE;
        LockOptions options = LockOptions.of(mode);
        if (timeout != null) {
            options = options.timeout(timeout);
        }
        FileLockService service = FileLockService.create(config);
        try (StopHook hook = StopHook.install("reactive-locks-run-stop", this::stop)) {
            return runLocked(service, options, lockFile, hook);
        } finally {
            service.dispose();
        }
    }

    private int runLocked(FileLockService service, LockOptions options, Path lockFile, StopHook hook) {
        CompletableFuture<@Nullable LockHandle> pending = service.acquire(name, options).toFuture();
        synchronized (guard) {
            if (stopped) {
                pending.cancel(false);
                return ReactiveLocksCli.EXIT_FAILURE;
            }
            acquisition = pending;
        }
        LockHandle handle = await(pending, options, lockFile);
        if (handle == null) {
            return ReactiveLocksCli.EXIT_FAILURE; // stopped while waiting
        }
        try {
            ChildProcess started;
            synchronized (guard) {
                if (stopped) {
                    return ReactiveLocksCli.EXIT_FAILURE;
                }
                started = ChildProcess.start(command,
                        ReactiveLocksCli.lockDirectoryEnvironment(lockFile.getParent()));
                child = started;
            }
            return started.waitFor();
        } finally {
            if (!hook.stopping()) {
                release(handle);
            }
            // else the stop hook kills the command's descendants first, then releases
        }
    }

    /** @return the handle, or {@code null} when the tool was stopped while waiting */
    private @Nullable LockHandle await(CompletableFuture<@Nullable LockHandle> pending, LockOptions options,
                                       Path lockFile) {
        try {
            LockHandle handle = pending.get();
            if (handle == null) {
                throw timedOut(options, lockFile);
            }
            return handle;
        } catch (CancellationException e) {
            return null;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            pending.cancel(false);
            return null;
        } catch (ExecutionException e) {
            Throwable cause = e.getCause();
            if (cause instanceof LockTimeoutException) {
                throw timedOut(options, lockFile);
            }
            throw new CliFailure(ReactiveLocksCli.EXIT_FAILURE,
                    "cannot acquire lock '" + name + "' (lock file " + lockFile + "): " + cause.getMessage());
        }
    }

    private CliFailure timedOut(LockOptions options, Path lockFile) {
        Duration waited = options.timeout().orElse(Duration.ZERO);
        return new CliFailure(ReactiveLocksCli.EXIT_LOCK_TIMEOUT, "lock '" + name + "' ("
                + options.mode().name().toLowerCase(Locale.ROOT) + ") not acquired within "
                + DurationConverter.format(waited) + " (lock file " + lockFile + ")");
    }

    /** The stop hook: the command must not outlive the lock, so kill it first, then release. */
    private void stop() {
        CompletableFuture<@Nullable LockHandle> pending;
        ChildProcess running;
        synchronized (guard) {
            stopped = true;
            pending = acquisition;
            running = child;
        }
        if (running != null) {
            running.destroyTree(ChildProcess.KILL_GRACE);
        }
        if (pending != null) {
            pending.cancel(false); // a grant racing this cancel is released by the service
            if (pending.isDone() && !pending.isCompletedExceptionally()) {
                LockHandle handle = pending.getNow(null);
                if (handle != null) {
                    release(handle);
                }
            }
        }
    }

    private void release(LockHandle handle) {
        try {
            handle.release().block(RELEASE_TIMEOUT);
        } catch (RuntimeException e) {
            spec.commandLine().getErr().println(spec.qualifiedName() + ": cannot release lock '" + name + "': "
                    + e.getMessage());
            spec.commandLine().getErr().flush();
        }
    }
}
