package dev.reactivelocks.file;

import dev.reactivelocks.LockConfigurationException;
import java.io.File;
import java.nio.charset.StandardCharsets;
import java.nio.file.InvalidPathException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Objects;
import java.util.Optional;
import java.util.function.UnaryOperator;
import org.jspecify.annotations.Nullable;
import reactor.core.scheduler.Scheduler;

/**
 * Where a {@link FileLockService} keeps its lock files and on which threads it touches them.
 *
 * <pre>{@code
 * FileLockConfig config = FileLockConfig.builder()
 *         .lockDirectory(Path.of("/var/lib/myapp/locks"))
 *         .build();
 * LockService locks = FileLockService.create(config);
 * }</pre>
 *
 * <p><b>Lock directory</b>: the directory given to {@link Builder#lockDirectory(Path)}, else the system
 * property {@value #LOCK_DIR_PROPERTY}, else the environment variable {@value #LOCK_DIR_ENV}. There is
 * deliberately no default in a shared temporary directory (other users could create or hold the lock
 * files there): without one, acquisitions error with {@link LockConfigurationException}.
 *
 * <p><b>Lock file names</b> follow oslo.concurrency's external locks ({@code lockutils._get_lock_path}), so
 * that Java and Python programs lock the same files: the lock {@code name} (including the {@code prefix-}
 * of a {@link dev.reactivelocks.LockService#withPrefix(String) prefixed view}, which joins prefix and name
 * as oslo's {@code lock_file_prefix} does) lives in {@code lockDirectory/name}, with every {@code '/'} (and
 * the platform's separator) replaced by {@code '_'}: {@code "a/b"}, {@code "/abs"} and {@code "x/../y"}
 * are the files {@code a_b}, {@code _abs} and {@code x_.._y}. One difference: oslo does not map separators
 * in the prefix (a prefix {@code "a/b"} would put oslo's files in a subdirectory), while here the whole name
 * is mapped, so that a lock file is always directly in the lock directory. See {@link #lockFile(String)}
 * for the few names that are refused. The directory {@code .reactive-locks-fencing} in the lock directory
 * holds the fencing token counters (see {@link FileLockService}); a lock of that name fails.
 *
 * <p>Instances are immutable and thread-safe.
 */
public final class FileLockConfig {

    /** The system property naming the lock directory when the builder was given none. */
    public static final String LOCK_DIR_PROPERTY = "reactivelocks.lock-dir";

    /** The environment variable naming the lock directory when neither builder nor system property do. */
    public static final String LOCK_DIR_ENV = "REACTIVE_LOCKS_DIR";

    /**
     * oslo.concurrency's environment variable for its lock path ({@code lockutils-wrapper} sets it), the
     * last fallback for the lock directory, so that a JVM and Python services share one directory.
     */
    public static final String OSLO_LOCK_PATH_ENV = "OSLO_LOCK_PATH";

    static final Duration DEFAULT_MIN_POLL = Duration.ofMillis(1);
    static final Duration DEFAULT_MAX_POLL = Duration.ofMillis(50);
    static final Duration DEFAULT_CHANNEL_IDLE_TIMEOUT = Duration.ofSeconds(1);
    static final Duration DEFAULT_LOCK_FILE_CHECK_INTERVAL = Duration.ofSeconds(1);
    static final int DEFAULT_MAX_IDLE_CHANNELS = 256;
    private static final int MAX_FILE_NAME_BYTES = 255;

    private final @Nullable Path lockDirectory;
    private final @Nullable Scheduler scheduler;
    private final @Nullable Scheduler timer;
    private final Duration minPollInterval;
    private final Duration maxPollInterval;
    private final Duration channelIdleTimeout;
    private final Duration lockFileCheckInterval;
    private final int maxIdleChannels;

    private FileLockConfig(Builder b, @Nullable Path lockDirectory) {
        this.lockDirectory = lockDirectory;
        this.scheduler = b.scheduler;
        this.timer = b.timer;
        this.minPollInterval = b.minPollInterval;
        this.maxPollInterval = b.maxPollInterval;
        this.channelIdleTimeout = b.channelIdleTimeout;
        this.lockFileCheckInterval = b.lockFileCheckInterval;
        this.maxIdleChannels = b.maxIdleChannels;
    }

    /** @return a builder with the defaults */
    public static Builder builder() {
        return new Builder();
    }

    /**
     * The defaults, with the lock directory taken from the system property {@value #LOCK_DIR_PROPERTY},
     * else the environment variable {@value #LOCK_DIR_ENV}, else oslo.concurrency's
     * {@value #OSLO_LOCK_PATH_ENV}; same as {@code builder().build()}.
     *
     * @return a configuration; its lock directory is empty when none is set
     */
    public static FileLockConfig fromEnvironment() {
        return builder().build();
    }

    /** @return a builder holding this configuration (with its resolved lock directory set explicitly) */
    public Builder toBuilder() {
        Builder b = new Builder();
        b.lockDirectory = lockDirectory;
        b.scheduler = scheduler;
        b.timer = timer;
        b.minPollInterval = minPollInterval;
        b.maxPollInterval = maxPollInterval;
        b.channelIdleTimeout = channelIdleTimeout;
        b.lockFileCheckInterval = lockFileCheckInterval;
        b.maxIdleChannels = maxIdleChannels;
        return b;
    }

    /** @return the absolute lock directory, empty when none is configured */
    public Optional<Path> lockDirectory() {
        return Optional.ofNullable(lockDirectory);
    }

    /** @return the scheduler for blocking file calls, empty when the service creates its own */
    public Optional<Scheduler> scheduler() {
        return Optional.ofNullable(scheduler);
    }

    /** @return the scheduler for timeouts and poll delays, empty for {@code Schedulers.parallel()} */
    public Optional<Scheduler> timer() {
        return Optional.ofNullable(timer);
    }

    /** @return the first delay between two attempts to lock a file held by another process */
    public Duration minPollInterval() {
        return minPollInterval;
    }

    /** @return the longest delay between two attempts to lock a file held by another process */
    public Duration maxPollInterval() {
        return maxPollInterval;
    }

    /** @return how long a lock file's channel stays open after its last user in this JVM left */
    public Duration channelIdleTimeout() {
        return channelIdleTimeout;
    }

    /** @return how often, while this JVM holds a lock file, the service checks that it was not deleted or replaced */
    public Duration lockFileCheckInterval() {
        return lockFileCheckInterval;
    }

    /** @return how many idle lock file channels (file descriptors) the JVM keeps open at most */
    public int maxIdleChannels() {
        return maxIdleChannels;
    }

    /**
     * The file that holds the lock {@code name}: {@code lockDirectory/name} with every path separator
     * ({@code '/'}, and the platform's own) replaced by {@code '_'}, exactly as oslo.concurrency names its
     * external lock files, so that {@code "/abs"} is {@code _abs}, {@code "x/../y"} is {@code x_.._y} and
     * {@code "a/b"} is {@code a_b}. The file is always directly in the lock directory. Pure computation;
     * touches no file.
     *
     * @param name the full lock name (a prefixed view passes {@code prefix-name})
     * @return the absolute path of the lock file
     * @throws IllegalArgumentException if the mapped file name is empty, {@code "."} or {@code ".."},
     *         contains NUL, is longer than 255 bytes in UTF-8 (the file name limit
     *         of the common file systems, {@code NAME_MAX}), or is no file name on this platform
     * @throws LockConfigurationException if no lock directory is configured
     */
    public Path lockFile(String name) {
        String fileName = fileName(name);
        if (lockDirectory == null) {
            throw notConfigured(name);
        }
        return lockDirectory.resolve(fileName);
    }

    /** The error for a service without lock directory; names the three ways to configure one. */
    static LockConfigurationException notConfigured(String name) {
        return new LockConfigurationException(name, "No lock directory configured for file lock '" + name
                + "': set FileLockConfig.builder().lockDirectory(path), the system property "
                + LOCK_DIR_PROPERTY + " or the environment variable " + LOCK_DIR_ENV
                + " (a directory only your application can write; not a shared temporary directory)");
    }

    /**
     * Maps {@code name} to the lock file's name as oslo.concurrency does (separators become {@code '_'})
     * and refuses what cannot be a file directly in the lock directory.
     *
     * @throws IllegalArgumentException naming the problem
     */
    static String fileName(String name) {
        Objects.requireNonNull(name, "name");
        String fileName = name.replace('/', '_').replace(File.separatorChar, '_');
        if (fileName.isEmpty() || fileName.equals(".") || fileName.equals("..")) {
            throw refused(name, fileName, "which names no file in the lock directory");
        }
        if (fileName.indexOf('\0') >= 0) {
            throw refused(name, fileName, "which contains NUL");
        }
        int bytes = fileName.getBytes(StandardCharsets.UTF_8).length;
        if (bytes > MAX_FILE_NAME_BYTES) {
            throw refused(name, fileName, "which is " + bytes + " bytes long in UTF-8; file names are limited to "
                    + MAX_FILE_NAME_BYTES + " bytes (NAME_MAX)");
        }
        Path path;
        try {
            path = Path.of(fileName);
        } catch (InvalidPathException e) {
            throw refused(name, fileName, "which is no file name on this platform (" + e.getReason()
                    + "; file names are encoded in sun.jnu.encoding=" + System.getProperty("sun.jnu.encoding")
                    + ")");
        }
        if (path.isAbsolute() || path.getRoot() != null || path.getNameCount() != 1
                || !fileName.equals(String.valueOf(path.getFileName()))) {
            throw refused(name, fileName, "which is no plain file name on this platform");
        }
        return fileName;
    }

    private static IllegalArgumentException refused(String name, String fileName, String why) {
        return new IllegalArgumentException("Lock name '" + printable(name) + "' maps to the lock file name '"
                + printable(fileName) + "', " + why);
    }

    /** {@code s} with NUL shown as {@code \0}, so that messages stay printable. */
    private static String printable(String s) {
        return s.replace("\0", "\\0");
    }

    @Override
    public String toString() {
        return "FileLockConfig{lockDirectory=" + lockDirectory + ", scheduler=" + scheduler + ", timer=" + timer
                + ", pollInterval=" + minPollInterval + ".." + maxPollInterval + ", channelIdleTimeout="
                + channelIdleTimeout + ", maxIdleChannels=" + maxIdleChannels + ", lockFileCheckInterval="
                + lockFileCheckInterval + "}";
    }

    /**
     * Builds a {@link FileLockConfig}. Not thread-safe.
     */
    public static final class Builder {

        private @Nullable Path lockDirectory;
        private @Nullable Scheduler scheduler;
        private @Nullable Scheduler timer;
        private Duration minPollInterval = DEFAULT_MIN_POLL;
        private Duration maxPollInterval = DEFAULT_MAX_POLL;
        private Duration channelIdleTimeout = DEFAULT_CHANNEL_IDLE_TIMEOUT;
        private Duration lockFileCheckInterval = DEFAULT_LOCK_FILE_CHECK_INTERVAL;
        private int maxIdleChannels = DEFAULT_MAX_IDLE_CHANNELS;

        private Builder() {
        }

        /**
         * The directory of the lock files; created (with permissions {@code rwx------} where the file system
         * supports POSIX permissions) at the first acquisition when missing. Use a directory that only the
         * cooperating programs can write. Defaults to the system property {@value #LOCK_DIR_PROPERTY}, else
         * the environment variable {@value #LOCK_DIR_ENV}, else none.
         *
         * @param lockDirectory the directory; a relative path is resolved against the working directory now
         * @return this builder
         */
        public Builder lockDirectory(Path lockDirectory) {
            this.lockDirectory = Objects.requireNonNull(lockDirectory, "lockDirectory").toAbsolutePath().normalize();
            return this;
        }

        /**
         * The scheduler on which the service opens, locks, unlocks and closes lock files. It must allow
         * blocking (a bounded elastic scheduler, not {@code Schedulers.parallel()}); the service does not
         * dispose it. Defaults to a bounded elastic scheduler of daemon threads named
         * {@code reactive-locks-file}, created and disposed by the service.
         *
         * @param scheduler a scheduler whose threads may block
         * @return this builder
         */
        public Builder scheduler(Scheduler scheduler) {
            this.scheduler = Objects.requireNonNull(scheduler, "scheduler");
            return this;
        }

        /**
         * The scheduler on which acquisition timeouts fire and poll delays elapse; nothing blocks on it.
         * Defaults to {@code Schedulers.parallel()}, looked up at each use.
         *
         * @param timer the timer scheduler; the service does not dispose it
         * @return this builder
         */
        public Builder timer(Scheduler timer) {
            this.timer = Objects.requireNonNull(timer, "timer");
            return this;
        }

        /**
         * The delays between attempts to lock a file that another process holds: the first is {@code min},
         * each next one doubles, up to {@code max}. {@code max} bounds how late a waiter notices that the
         * other process released the file (or died). They also bound how long this JVM keeps a file busy
         * for its own acquisitions: after {@code max} of locks separated by gaps shorter than {@code min},
         * it leaves the file unlocked for {@code min} (see {@link FileLockService}, <b>Fairness</b>).
         * Defaults to 1ms and 50ms.
         *
         * @param min the first delay, positive
         * @param max the longest delay, {@code >= min}
         * @return this builder
         * @throws IllegalArgumentException if {@code min} is not positive or {@code max < min}
         */
        public Builder pollInterval(Duration min, Duration max) {
            Objects.requireNonNull(min, "min");
            Objects.requireNonNull(max, "max");
            if (min.isNegative() || min.isZero()) {
                throw new IllegalArgumentException("pollInterval min must be > 0, was " + min);
            }
            if (max.compareTo(min) < 0) {
                throw new IllegalArgumentException("pollInterval max must be >= min (" + min + "), was " + max);
            }
            this.minPollInterval = min;
            this.maxPollInterval = max;
            return this;
        }

        /**
         * How long the channel (file descriptor) of a lock file stays open once no acquisition of this JVM
         * uses it, so that the next acquisition neither reopens the file nor waits for the scheduler. An
         * idle channel holds no lock: other processes can lock the file meanwhile. Idle channels are also
         * closed when a service is disposed and by {@link FileLockService#removeLockFile(FileLockConfig,
         * String)}. {@link Duration#ZERO} closes the channel as soon as the last user leaves. When services
         * with different timeouts use one file, the timeout of the service that used it last applies.
         *
         * <p>Another process may delete or replace the lock file while the channel is idle: every lock taken
         * is checked against the file the path names now (device and inode), and an acquisition whose file is
         * gone queues again for the file the path names now, so this JVM never locks a deleted file (see
         * {@link #lockFileCheckInterval(Duration)} for a file deleted while held). Defaults to 1 second.
         *
         * @param timeout zero or positive
         * @return this builder
         * @throws IllegalArgumentException if {@code timeout} is negative
         */
        public Builder channelIdleTimeout(Duration timeout) {
            Objects.requireNonNull(timeout, "timeout");
            if (timeout.isNegative()) {
                throw new IllegalArgumentException("channelIdleTimeout must be >= 0, was " + timeout);
            }
            this.channelIdleTimeout = timeout;
            return this;
        }

        /**
         * How many idle channels (open file descriptors of lock files that no acquisition of this JVM uses)
         * are kept open at most, so that many distinct names used in a short time do not exhaust the
         * process's descriptor limit, at which every lock of the JVM would fail. The list of idle channels
         * is shared by every {@code FileLockService} of the JVM, like the channels themselves; when a file
         * becomes idle and the list is longer than the limit of the service that used the file last, the
         * least recently used idle channels are closed (on the file scheduler) before their
         * {@link #channelIdleTimeout(Duration) idle timeout}. A channel whose file has a holder or waiter in
         * this JVM is never idle, so never closed to make room: held files do not count against the limit.
         * {@code 0} closes each channel with its last user. Defaults to 256.
         *
         * @param max zero or positive
         * @return this builder
         * @throws IllegalArgumentException if {@code max} is negative
         */
        public Builder maxIdleChannels(int max) {
            if (max < 0) {
                throw new IllegalArgumentException("maxIdleChannels must be >= 0, was " + max);
            }
            this.maxIdleChannels = max;
            return this;
        }

        /**
         * How often the service checks, while this JVM holds a lock file, that the file was not deleted or
         * replaced (by another process, or by anyone renaming a new file over it): each holder's path must
         * still name the file that is locked (same device and inode). A lock on a file that no longer has
         * that name excludes nobody, because the next process locks the new file; when the check finds it,
         * the holder's {@link dev.reactivelocks.LockHandle#lost()} completes and its
         * {@link dev.reactivelocks.LockHandle#isHeld()} turns {@code false}. So a deletion or replacement
         * is reported within this interval plus the time the file scheduler needs to run the check (one
         * {@code stat} per distinct path of the holders). No check runs while the JVM holds nothing.
         * Defaults to 1 second.
         *
         * @param interval positive
         * @return this builder
         * @throws IllegalArgumentException if {@code interval} is zero or negative
         */
        public Builder lockFileCheckInterval(Duration interval) {
            Objects.requireNonNull(interval, "interval");
            if (interval.isNegative() || interval.isZero()) {
                throw new IllegalArgumentException("lockFileCheckInterval must be > 0, was " + interval);
            }
            this.lockFileCheckInterval = interval;
            return this;
        }

        /**
         * @return the configuration; the lock directory falls back to the system property
         *         {@value #LOCK_DIR_PROPERTY}, then the environment variables {@value #LOCK_DIR_ENV} and
         *         {@value #OSLO_LOCK_PATH_ENV}
         */
        public FileLockConfig build() {
            return build(System::getProperty, System::getenv);
        }

        FileLockConfig build(UnaryOperator<@Nullable String> properties, UnaryOperator<@Nullable String> env) {
            Path dir = lockDirectory;
            if (dir == null) {
                dir = pathOrNull(properties.apply(LOCK_DIR_PROPERTY));
            }
            if (dir == null) {
                dir = pathOrNull(env.apply(LOCK_DIR_ENV));
            }
            if (dir == null) {
                dir = pathOrNull(env.apply(OSLO_LOCK_PATH_ENV));
            }
            return new FileLockConfig(this, dir);
        }

        private static @Nullable Path pathOrNull(@Nullable String value) {
            return value == null || value.isBlank() ? null : Path.of(value).toAbsolutePath().normalize();
        }
    }
}
