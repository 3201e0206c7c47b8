package dev.reactivelocks.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.reactivelocks.LockHandle;
import dev.reactivelocks.LockOptions;
import dev.reactivelocks.file.FileLockConfig;
import dev.reactivelocks.file.FileLockService;
import io.netty.util.internal.MacAddressUtil;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import org.jspecify.annotations.Nullable;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/**
 * The tool run inside the test JVM through picocli: argument handling, exit codes and messages. Holders
 * of locks in these tests live in this JVM (the in-JVM queue of {@link FileLockService} is what the
 * command waits on); the jar-based {@code *IT} tests cover other processes.
 */
@Timeout(30)
class ReactiveLocksCliTest {

    private static final Duration BLOCK = Duration.ofSeconds(10);

    @TempDir
    Path dir;

    private final StringWriter out = new StringWriter();
    private final StringWriter err = new StringWriter();
    private Map<String, String> environment = Map.of();
    private @Nullable FileLockService locks;

    @BeforeEach
    void createService() {
        locks = FileLockService.create(FileLockConfig.builder().lockDirectory(dir).build());
    }

    @AfterEach
    void disposeService() {
        if (locks != null) {
            locks.dispose();
        }
    }

    private int execute(String... args) {
        CommandLine cli = ReactiveLocksCli.commandLine(environment::get);
        cli.setOut(new PrintWriter(out, true));
        cli.setErr(new PrintWriter(err, true));
        return cli.execute(args);
    }

    private LockHandle hold(String name, LockOptions options) {
        LockHandle handle = locks.acquire(name, options).block(BLOCK);
        assertThat(handle).isNotNull();
        return handle;
    }

    private boolean isFree(String name) {
        LockHandle handle = locks.tryAcquire(name, LockOptions.exclusive()).block(BLOCK);
        if (handle == null) {
            return false;
        }
        handle.release().block(BLOCK);
        return true;
    }

    @Test
    void withoutSubcommandPrintsUsageAndExits2() {
        assertThat(execute()).isEqualTo(2);
        assertThat(err.toString()).startsWith("Missing subcommand: run, wrapper, list or purge" + System.lineSeparator()
                + "Usage: reactive-locks [-hV] [COMMAND]");
        assertThat(out.toString()).isEmpty();
    }

    @Test
    void unknownOptionPrintsUsageAndExits2() {
        assertThat(execute("run", "--lock-dir", dir.toString(), "--name", "a", "--bogus", "--", "true"))
                .isEqualTo(2);
        assertThat(err.toString()).startsWith("Unknown option: '--bogus'").contains("Usage: reactive-locks run ");
    }

    @Test
    void runWithoutCommandPrintsUsageAndExits2() {
        assertThat(execute("run", "--lock-dir", dir.toString(), "--name", "a")).isEqualTo(2);
        assertThat(err.toString()).startsWith("Missing required parameter: 'COMMAND'");
    }

    @Test
    void runWithoutNamePrintsUsageAndExits2() {
        assertThat(execute("run", "--lock-dir", dir.toString(), "--", "true")).isEqualTo(2);
        assertThat(err.toString()).startsWith("Missing required option: '--name=NAME'");
    }

    @Test
    void invalidTimeoutIsAUsageErrorNamingTheValue() {
        Path marker = dir.resolve("marker");
        assertThat(execute("run", "--lock-dir", dir.toString(), "--name", "a", "--timeout", "10x", "--",
                "touch", marker.toString())).isEqualTo(2);
        assertThat(err.toString()).startsWith("Invalid value for option '--timeout': '10x' is not a duration;");
        assertThat(marker).doesNotExist();
    }

    @Test
    void invalidLockNameIsAUsageErrorNamingTheName() {
        assertThat(execute("run", "--lock-dir", dir.toString(), "--name", "..", "--", "true")).isEqualTo(2);
        assertThat(err.toString()).startsWith("Invalid value for option '--name': Lock name '..' maps to the lock"
                + " file name '..', which names no file in the lock directory");
    }

    @Test
    void aNameWithSeparatorsLocksTheFileOsloLocksInsideTheLockDirectory() {
        assertThat(execute("run", "--lock-dir", dir.toString(), "--name", "../escape", "--", "true")).isZero();
        assertThat(dir.resolve(".._escape")).isRegularFile();
        assertThat(dir.getParent().resolve("escape")).doesNotExist();
    }

    @Test
    void missingLockDirectoryIsAUsageErrorWhenTheEnvironmentNamesNone() {
        assertThat(execute("list")).isEqualTo(2);
        assertThat(err.toString()).startsWith("Missing lock directory: give --lock-dir DIR or set the environment"
                + " variable REACTIVE_LOCKS_DIR");
    }

    /**
     * {@code --lock-dir ""} (as {@code --lock-dir "$LOCK_DIR"} gives when the variable is unset) locked and
     * listed files in the current directory, so two jobs started in different directories did not exclude
     * each other.
     */
    @Test
    void emptyLockDirectoryIsAUsageError() {
        Path marker = dir.resolve("marker");
        assertThat(execute("list", "--lock-dir", "")).isEqualTo(2);
        assertThat(err.toString()).startsWith("Invalid value for option '--lock-dir': '' names no directory;"
                + " give a directory, or leave the option out to use REACTIVE_LOCKS_DIR (or OSLO_LOCK_PATH)"
                + System.lineSeparator() + "Usage: reactive-locks list ");
        assertThat(out.toString()).isEmpty();
        err.getBuffer().setLength(0);
        assertThat(execute("run", "--lock-dir", "", "--name", "empty-lock-dir-test", "--", "touch",
                marker.toString())).isEqualTo(2);
        assertThat(err.toString()).startsWith("Invalid value for option '--lock-dir': '' names no directory");
        assertThat(marker).doesNotExist();
        assertThat(Path.of("empty-lock-dir-test")).doesNotExist();
    }

    @Test
    void lockDirectoryDefaultsToTheEnvironmentVariable() throws Exception {
        environment = Map.of("REACTIVE_LOCKS_DIR", dir.toString());
        assertThat(execute("run", "--name", "from-env", "--", "true")).isEqualTo(0);
        assertThat(dir.resolve("from-env")).isRegularFile();
        assertThat(execute("list")).isEqualTo(0);
        assertThat(out.toString().lines()).containsExactly(
                "NAME      MODE  HOLDERS  WAITING  FENCING  HELD-SINCE  LEASE-EXPIRY  OWNERS",
                "from-env  free  -        -        -        -           -             -");
    }

    @Test
    void runExitsWithTheCommandsExitCodeAndReleasesTheLock() {
        assertThat(execute("run", "--lock-dir", dir.toString(), "--name", "job", "--", "sh", "-c", "exit 3"))
                .isEqualTo(3);
        assertThat(err.toString()).isEmpty();
        assertThat(isFree("job")).isTrue();
    }

    @Test
    void runPassesOptionLikeArgumentsAfterTheCommandToTheCommand() {
        Path marker = dir.resolve("marker");
        // no "--": everything from the first positional on belongs to the command
        assertThat(execute("run", "--lock-dir", dir.toString(), "--name", "job", "sh", "-c",
                "test \"$1\" = --name && touch \"$2\"", "sh", "--name", marker.toString())).isEqualTo(0);
        assertThat(marker).isRegularFile();
    }

    /**
     * {@code run} and {@code wrapper} expanded picocli's {@code @FILE} arguments everywhere, after {@code --}
     * too: {@code run --name n -- curl -d @payload.json} ran {@code curl} with the words of
     * {@code payload.json} instead of {@code @payload.json}.
     */
    @Test
    void runAndWrapperPassArgumentsStartingWithAtToTheCommandUnchanged() throws Exception {
        Path argsFile = Files.writeString(dir.resolve("payload.json"), "expanded words\n");
        String script = "test \"$#\" = 2 && test \"$1\" = \"@$2\" && touch \"$2.ran\"";
        assertThat(execute("run", "--lock-dir", dir.toString(), "--name", "job", "--", "sh", "-c", script, "sh",
                "@" + argsFile, argsFile.toString())).isEqualTo(0);
        assertThat(dir.resolve("payload.json.ran")).isRegularFile();
        Files.delete(dir.resolve("payload.json.ran"));
        assertThat(execute("run", "--lock-dir", dir.toString(), "--name", "job", "sh", "-c", script, "sh",
                "@" + argsFile, argsFile.toString())).isEqualTo(0);
        assertThat(dir.resolve("payload.json.ran")).isRegularFile();
        Files.delete(dir.resolve("payload.json.ran"));
        assertThat(execute("wrapper", "--", "sh", "-c", script, "sh", "@" + argsFile, argsFile.toString()))
                .isEqualTo(0);
        assertThat(dir.resolve("payload.json.ran")).isRegularFile();
        assertThat(err.toString()).isEmpty();
    }

    @Test
    void runTimesOutWithExitCode75WithoutStartingTheCommand() {
        LockHandle holder = hold("build", LockOptions.exclusive());
        Path marker = dir.resolve("marker");
        long start = System.nanoTime();
        int code = execute("run", "--lock-dir", dir.toString(), "--name", "build", "--timeout", "200ms", "--",
                "touch", marker.toString());
        Duration waited = Duration.ofNanos(System.nanoTime() - start);

        assertThat(code).isEqualTo(75);
        assertThat(err.toString()).isEqualTo("reactive-locks run: lock 'build' (exclusive) not acquired within"
                + " 200ms (lock file " + dir.toAbsolutePath().resolve("build") + ")" + System.lineSeparator());
        assertThat(waited).isGreaterThanOrEqualTo(Duration.ofMillis(200));
        assertThat(marker).doesNotExist();
        assertThat(holder.isHeld()).isTrue();
        holder.release().block(BLOCK);
    }

    @Test
    void sharedRunTimesOutBehindAnExclusiveHolder() {
        LockHandle holder = hold("build", LockOptions.exclusive());
        assertThat(execute("run", "--lock-dir", dir.toString(), "--name", "build", "--shared", "--timeout", "0s",
                "--", "true")).isEqualTo(75);
        assertThat(err.toString()).contains("lock 'build' (shared) not acquired within 0s");
        holder.release().block(BLOCK);
    }

    /** Issue 14: {@code --timeout 0} without a unit was refused; {@code flock -w 0} users write it so. */
    @Test
    void bareZeroTimeoutMeansDoNotWait() {
        LockHandle holder = hold("build", LockOptions.exclusive());
        Path marker = dir.resolve("marker");
        assertThat(execute("run", "--lock-dir", dir.toString(), "--name", "build", "--timeout", "0", "--",
                "touch", marker.toString())).isEqualTo(75);
        assertThat(err.toString()).isEqualTo("reactive-locks run: lock 'build' (exclusive) not acquired within 0s"
                + " (lock file " + dir.toAbsolutePath().resolve("build") + ")" + System.lineSeparator());
        assertThat(marker).doesNotExist();
        holder.release().block(BLOCK);

        assertThat(execute("run", "--lock-dir", dir.toString(), "--name", "build", "--timeout", "0", "--",
                "touch", marker.toString())).isEqualTo(0);
        assertThat(marker).isRegularFile();
    }

    @Test
    void sharedRunRunsWhileAnotherHoldsTheLockShared() {
        LockHandle holder = hold("reports", LockOptions.shared());
        assertThat(execute("run", "--lock-dir", dir.toString(), "--name", "reports", "--shared", "--timeout", "5s",
                "--", "sh", "-c", "exit 0")).isEqualTo(0);
        assertThat(err.toString()).isEmpty();
        holder.release().block(BLOCK);
    }

    @Test
    void commandThatIsNotFoundFailsWithExitCode127AndReleasesTheLock() {
        assertThat(execute("run", "--lock-dir", dir.toString(), "--name", "job", "--", "no-such-command-xyz"))
                .isEqualTo(127);
        assertThat(err.toString()).startsWith("reactive-locks run: cannot run 'no-such-command-xyz': ");
        assertThat(isFree("job")).isTrue();
    }

    @Test
    void commandThatCannotBeExecutedFailsWithExitCode126AndReleasesTheLock() throws Exception {
        Path notAProgram = Files.writeString(dir.resolve("not-a-program"), "data"); // no execute permission
        assertThat(execute("run", "--lock-dir", dir.toString(), "--name", "job", "--", notAProgram.toString()))
                .isEqualTo(126);
        assertThat(err.toString()).startsWith("reactive-locks run: cannot run '" + notAProgram + "': ");
        assertThat(isFree("job")).isTrue();
        assertThat(execute("wrapper", "--", notAProgram.toString())).isEqualTo(126);
        assertThat(execute("wrapper", "--", "no-such-command-xyz")).isEqualTo(127);
    }

    @Test
    void lockDirectoryThatCannotBeCreatedFailsWithExitCode1() throws Exception {
        Path file = Files.writeString(dir.resolve("not-a-directory"), "x");
        Path marker = dir.resolve("marker");
        assertThat(execute("run", "--lock-dir", file.toString(), "--name", "job", "--", "touch", marker.toString()))
                .isEqualTo(1);
        assertThat(err.toString()).startsWith("reactive-locks run: cannot acquire lock 'job' (lock file "
                + file.resolve("job") + "): ");
        assertThat(marker).doesNotExist();
    }

    @Test
    void wrapperRemovesItsDirectoryAndExitsWithTheCommandsExitCode() throws Exception {
        Path tmp = Files.createDirectory(dir.resolve("tmp"));
        environment = Map.of("TMPDIR", tmp.toString());
        Path seen = dir.resolve("seen");
        assertThat(execute("wrapper", "--", "sh", "-c",
                "echo \"$REACTIVE_LOCKS_DIR\" > \"$0\"; touch \"$REACTIVE_LOCKS_DIR/lock\"; exit 5",
                seen.toString())).isEqualTo(5);
        Path lockDir = Path.of(Files.readString(seen).strip());
        assertThat(lockDir.getParent()).isEqualTo(tmp);
        assertThat(lockDir.getFileName().toString()).startsWith("reactive-locks-");
        assertThat(lockDir).doesNotExist();
        assertThat(err.toString()).isEmpty();
    }

    @Test
    void purgeOfAnUnsupportedUrlSchemeIsAUsageError() {
        assertThat(execute("purge", "mysql://root:pw@127.0.0.1:3306/test")).isEqualTo(2);
        assertThat(err.toString()).startsWith("Invalid value for URL: 'mysql://root:***@127.0.0.1:3306/test' has the"
                + " unsupported scheme 'mysql'; supported: postgresql://, r2dbc:postgresql://, redis://, rediss://");
    }

    @Test
    void purgeWithAnInvalidTableOrDurationIsAUsageError() {
        assertThat(execute("purge", "--table", "Locks; DROP TABLE x", "postgresql://postgres@127.0.0.1:1/test"))
                .isEqualTo(2);
        assertThat(err.toString()).startsWith("Invalid value for option '--table': table must be a lower-case"
                + " identifier");
        assertThat(execute("purge", "--older-than", "-1h", "postgresql://postgres@127.0.0.1:1/test")).isEqualTo(2);
        assertThat(execute("purge")).isEqualTo(2);
    }

    @Test
    void listOfAMissingDirectoryFailsWithExitCode1() {
        Path missing = dir.resolve("missing");
        assertThat(execute("list", "--lock-dir", missing.toString())).isEqualTo(1);
        assertThat(err.toString()).isEqualTo("reactive-locks list: lock directory '" + missing + "' does not exist"
                + System.lineSeparator());
    }

    /**
     * Issue 14: {@code list} printed file names raw, so a newline in a name forged an output line and an
     * ANSI escape sequence reached the terminal.
     */
    @Test
    void listEscapesControlCharactersInFileNames() throws Exception {
        assertThat(listOfLockFiles("a\nb  held (exclusive)", "\u001b[31mred", "back\\slash\ttab\u202e")).isEqualTo(
                "NAME                             MODE  HOLDERS  WAITING  FENCING  HELD-SINCE  LEASE-EXPIRY  OWNERS\n"
                + "\\x1b[31mred                      free  -        -        -        -           -             -\n"
                + "a\\nb\\x20\\x20held\\x20(exclusive)  free  -        -        -        -           -             -\n"
                + "back\\\\slash\\ttab\\u202e           free  -        -        -        -           -             -\n")
                .doesNotContain("\u001b", "\u202e", "\t");
    }

    /**
     * {@code list} printed the spaces of a name as they are, and its columns are separated by spaces: the line
     * of {@code " a  b\\c "} could not be told from one of a lock {@code a} with other columns. A space is now
     * printed as {@code \x20} (other spaces, such as the no-break space, as <code>&#92;uNNNN</code>), so each
     * cell is one word that bash's {@code printf '%b'} turns back into the name.
     */
    @Test
    void listEscapesSpacesInNamesSoThatEachCellIsOneWord() throws Exception {
        assertThat(listOfLockFiles(" a  b\\c ", "nb\u00a0sp", "plain")).isEqualTo(
                "NAME                   MODE  HOLDERS  WAITING  FENCING  HELD-SINCE  LEASE-EXPIRY  OWNERS\n"
                + "\\x20a\\x20\\x20b\\\\c\\x20  free  -        -        -        -           -             -\n"
                + "nb\\u00a0sp             free  -        -        -        -           -             -\n"
                + "plain                  free  -        -        -        -           -             -\n");
        List<String> cells = out.toString().lines().skip(1).map(line -> line.split(" +")[0]).toList();
        assertThat(List.of(printfB(cells.get(0)), printfB(cells.get(1)), printfB(cells.get(2))))
                .containsExactly(" a  b\\c ", "nb\u00a0sp", "plain");
    }

    /** The output of {@code list} (exit code 0, nothing on standard error) of empty lock files named {@code names}. */
    private String listOfLockFiles(String... names) throws Exception {
        for (String name : names) {
            Files.writeString(dir.resolve(name), "");
        }
        assertThat(execute("list", "--lock-dir", dir.toString())).isEqualTo(0);
        assertThat(err.toString()).isEmpty();
        return out.toString();
    }

    /** {@code text} as bash's {@code printf '%b'} prints it, in a UTF-8 locale. */
    private static String printfB(String text) throws Exception {
        ProcessBuilder builder = new ProcessBuilder("bash", "-c", "printf '%b' \"$1\"", "bash", text);
        builder.environment().put("LC_ALL", "C.UTF-8");
        Process bash = builder.redirectErrorStream(true).start();
        String printed = new String(bash.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
        assertThat(bash.waitFor()).as(printed).isZero();
        return printed;
    }

    /**
     * {@code list --prefix team/} listed nothing while {@code run --name team/build} held its lock: the prefix
     * was compared with the file names, where {@code '/'} is {@code '_'}.
     */
    @Test
    void listPrefixWithASeparatorSelectsTheLockFilesOfTheNamesItStarts() {
        hold("team/build", LockOptions.exclusive()).release().block(BLOCK);
        hold("teamwork", LockOptions.exclusive()).release().block(BLOCK);
        assertThat(execute("list", "--lock-dir", dir.toString(), "--prefix", "team/")).isEqualTo(0);
        assertThat(out.toString().lines()).containsExactly(
                "NAME        MODE  HOLDERS  WAITING  FENCING  HELD-SINCE  LEASE-EXPIRY  OWNERS",
                "team_build  free  -        -        -        -           -             -");
        assertThat(err.toString()).isEmpty();
    }

    /**
     * {@code list > /dev/full} (a full disk, a closed pipe) exited with 0: the write error was lost in the
     * {@code PrintWriter}, and a script got an empty or cut list it took for the whole one.
     */
    @Test
    void listThatCannotWriteItsOutputFailsWithExitCode1() {
        CommandLine cli = ReactiveLocksCli.commandLine(environment::get);
        cli.setOut(new PrintWriter(new java.io.Writer() {
            @Override
            public void write(char[] chars, int offset, int length) throws java.io.IOException {
                throw new java.io.IOException("No space left on device");
            }

            @Override
            public void flush() {
            }

            @Override
            public void close() {
            }
        }));
        cli.setErr(new PrintWriter(err, true));
        assertThat(cli.execute("list", "--lock-dir", dir.toString())).isEqualTo(1);
        assertThat(err.toString()).isEqualTo("reactive-locks list: cannot write to standard output"
                + System.lineSeparator());
    }

    @Test
    void listOfAnEmptyDirectoryPrintsOnlyTheHeader() {
        assertThat(execute("list", "--lock-dir", dir.toString())).isEqualTo(0);
        assertThat(out.toString().lines())
                .containsExactly("NAME  MODE  HOLDERS  WAITING  FENCING  HELD-SINCE  LEASE-EXPIRY  OWNERS");
        assertThat(err.toString()).isEmpty();
    }

    /**
     * Where no network interface has a hardware address (a container with only loopback), Netty logged
     * "Failed to find a usable hardware address from the network interfaces; using random bytes" on standard
     * error on every {@code purge} and {@code list} of a server; {@code main} now gives Netty a machine id.
     */
    @Test
    void mainGivesNettyARandomMachineIdUnlessTheUserSetOne() {
        Properties first = new Properties();
        ReactiveLocksCli.defaultNettyMachineId(first);
        String id = first.getProperty("io.netty.machineId");
        assertThat(id).matches("[0-9a-f][26ae](:[0-9a-f]{2}){7}");
        assertThat(MacAddressUtil.parseMAC(id)).hasSize(8);

        Properties second = new Properties();
        ReactiveLocksCli.defaultNettyMachineId(second);
        assertThat(second.getProperty("io.netty.machineId")).isNotEqualTo(id);

        Properties user = new Properties();
        user.setProperty("io.netty.machineId", "00-11-22-33-44-55");
        ReactiveLocksCli.defaultNettyMachineId(user);
        assertThat(user.getProperty("io.netty.machineId")).isEqualTo("00-11-22-33-44-55");
    }

    @Test
    void helpAndVersionExit0() {
        assertThat(execute("--help")).isEqualTo(0);
        assertThat(out.toString()).contains("Exit codes:").contains("75").contains("run").contains("wrapper")
                .contains("list");
        assertThat(execute("--version")).isEqualTo(0);
        assertThat(out.toString()).contains("reactive-locks ");
    }

    @Test
    void eachSubcommandHasHelp() {
        assertThat(execute("run", "--help")).isEqualTo(0);
        assertThat(execute("wrapper", "-h")).isEqualTo(0);
        assertThat(execute("list", "--help")).isEqualTo(0);
        assertThat(out.toString()).contains("Usage: reactive-locks run [-hV] [--shared] [--lock-dir=DIR]")
                .contains("Usage: reactive-locks wrapper [-hV] [--] COMMAND...")
                .contains("Usage: reactive-locks list [-hV] [--json] [--key-prefix=PREFIX]")
                .contains("[--lock-dir=DIR] [--prefix=PREFIX] [--table=TABLE]")
                .contains(String.join(System.lineSeparator(),
                        "Names and owners are printed with backslash escapes, so that each line has",
                        "one cell per column: a space as \\x20, a backslash as \\\\, a newline as \\n,",
                        "other control characters as \\xNN (bash's printf '%b' reads them back).", ""));
        assertThat(err.toString()).isEmpty();
    }
}
