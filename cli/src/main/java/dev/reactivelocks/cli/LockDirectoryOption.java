package dev.reactivelocks.cli;

import dev.reactivelocks.file.FileLockConfig;
import java.nio.file.Path;
import org.jspecify.annotations.Nullable;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;

/**
 * The {@code --lock-dir} option, falling back to {@value ReactiveLocksCli#LOCK_DIR_ENV}, then to
 * oslo.concurrency's {@value FileLockConfig#OSLO_LOCK_PATH_ENV}.
 */
final class LockDirectoryOption {

    @Option(names = "--lock-dir", paramLabel = "DIR",
            description = "Directory of the lock files. Defaults to the environment variable "
                    + ReactiveLocksCli.LOCK_DIR_ENV + " (set by 'reactive-locks wrapper'), then to "
                    + FileLockConfig.OSLO_LOCK_PATH_ENV + " (set by oslo's lockutils-wrapper). An empty DIR is"
                    + " refused.")
    private @Nullable Path lockDirectory;

    /** @return whether {@code --lock-dir} was given on the command line */
    boolean given() {
        return lockDirectory != null;
    }

    /**
     * @return the absolute lock directory
     * @throws ParameterException when neither the option nor the environment variable gives one, or the
     *         option is empty (which would mean the current directory)
     */
    Path resolve(CommandSpec spec, ReactiveLocksCli root) {
        Path dir = lockDirectory;
        if (dir != null && dir.toString().isEmpty()) {
            throw new ParameterException(spec.commandLine(), "Invalid value for option '--lock-dir': '' names no"
                    + " directory; give a directory, or leave the option out to use " + ReactiveLocksCli.LOCK_DIR_ENV
                    + " (or " + FileLockConfig.OSLO_LOCK_PATH_ENV + ")");
        }
        if (dir == null) {
            String fromEnv = root.getenv(ReactiveLocksCli.LOCK_DIR_ENV);
            if (fromEnv == null || fromEnv.isBlank()) {
                fromEnv = root.getenv(FileLockConfig.OSLO_LOCK_PATH_ENV);
            }
            if (fromEnv == null || fromEnv.isBlank()) {
                throw new ParameterException(spec.commandLine(), "Missing lock directory: give --lock-dir DIR"
                        + " or set the environment variable " + ReactiveLocksCli.LOCK_DIR_ENV + " (or "
                        + FileLockConfig.OSLO_LOCK_PATH_ENV + ")");
            }
            dir = Path.of(fromEnv);
        }
        return dir.toAbsolutePath().normalize();
    }
}
