package dev.reactivelocks.cli;

import dev.reactivelocks.file.FileLockConfig;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.HexFormat;
import java.util.Map;
import java.util.Objects;
import java.util.Properties;
import java.util.concurrent.ThreadLocalRandom;
import java.util.function.UnaryOperator;
import org.jspecify.annotations.Nullable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.ParseResult;
import picocli.CommandLine.Spec;

/**
 * The {@code reactive-locks} command: file locks from the shell, on the same lock files as
 * {@link dev.reactivelocks.file.FileLockService} (and Python's oslo.concurrency / fasteners).
 *
 * <pre>
 * reactive-locks run --lock-dir /var/lock/myapp --name nightly --timeout 10s -- ./nightly.sh --full
 * reactive-locks wrapper -- ./mvnw verify
 * reactive-locks list --lock-dir /var/lock/myapp
 * reactive-locks list --json redis://cache.example:6379
 * reactive-locks purge --older-than 1h postgresql://locks@db.example/app
 * </pre>
 *
 * <p><b>Exit codes</b>:
 * <ul>
 *   <li>{@code run} and {@code wrapper}: the exit code of the command; a command killed by signal
 *       {@code N} gives {@code 128 + N}, as in a shell;</li>
 *   <li>{@value #EXIT_USAGE}: bad arguments (unknown option, missing command, invalid duration or lock
 *       name, no lock directory); the usage is printed to standard error;</li>
 *   <li>{@value #EXIT_LOCK_TIMEOUT} ({@code EX_TEMPFAIL}, as {@code flock -E 75}): {@code run} did not
 *       get the lock within {@code --timeout}; the command was not started;</li>
 *   <li>{@value #EXIT_NOT_FOUND} and {@value #EXIT_CANNOT_EXECUTE}, as in a shell ({@code flock(1)} and
 *       {@code timeout(1)} do the same): {@code run} or {@code wrapper} could not start the command because
 *       it was not found, or because it was found but could not be executed (no permission, not a program);
 *       the lock was released, and the message is on standard error;</li>
 *   <li>{@value #EXIT_FAILURE}: any other failure (the lock directory cannot be created or read, the output
 *       of {@code list} cannot be written, ...), with a message on standard error;</li>
 *   <li>when the tool itself is stopped by {@code SIGTERM} or {@code SIGINT} (Ctrl-C), it first kills the
 *       command with its descendants (its process tree and, on Linux, the processes of the same user that
 *       carry its {@code REACTIVE_LOCKS_RUN} environment marker, which reaches daemons that double-forked
 *       and called {@code setsid}) and releases the lock or removes the directory, then exits with
 *       {@code 143} or {@code 130}, as the JVM does for these signals.</li>
 * </ul>
 *
 * <p>Arguments are taken as written: one starting with {@code @} is passed on as it is, never replaced by
 * the contents of a file (picocli's argument files are off), so a command run by {@code run} or
 * {@code wrapper} gets exactly the arguments it was given ({@code curl -d @payload.json}).
 *
 * <p>This class is the entry point of the runnable jar; {@link #commandLine()} gives the picocli model
 * for running the tool inside another JVM.
 */
@Command(
        name = "reactive-locks",
        mixinStandardHelpOptions = true,
        versionProvider = ReactiveLocksCli.Version.class,
        description = "Runs commands under inter-process file locks and inspects lock directories.",
        subcommands = {RunCommand.class, WrapperCommand.class, ListCommand.class, PurgeCommand.class,
            CommandLine.HelpCommand.class},
        exitCodeListHeading = "%nExit codes:%n",
        exitCodeList = {
            "0:the command's exit code (run, wrapper), or success",
            "1:failure, message on standard error",
            "2:usage error",
            "75:lock not acquired within --timeout (run)",
            "126:the command was found but cannot be executed (run, wrapper)",
            "127:the command was not found (run, wrapper)",
            "130, 143:stopped by SIGINT or SIGTERM (the command was killed, the lock released)"
        })
public final class ReactiveLocksCli implements Runnable {

    /** Exit code of other failures; the message is on standard error. */
    public static final int EXIT_FAILURE = 1;

    /** Exit code of usage errors; the usage is on standard error. */
    public static final int EXIT_USAGE = 2;

    /** Exit code when {@code run} did not get the lock within {@code --timeout} ({@code EX_TEMPFAIL}). */
    public static final int EXIT_LOCK_TIMEOUT = 75;

    /** Exit code when the command of {@code run} or {@code wrapper} was found but cannot be executed. */
    public static final int EXIT_CANNOT_EXECUTE = 126;

    /** Exit code when the command of {@code run} or {@code wrapper} was not found. */
    public static final int EXIT_NOT_FOUND = 127;

    /**
     * The environment variable naming the lock directory when {@code --lock-dir} is not given; the same
     * one {@link FileLockConfig} reads, so programs started by {@code wrapper} find the directory.
     */
    public static final String LOCK_DIR_ENV = FileLockConfig.LOCK_DIR_ENV;

    /** @return the environment a child runs with to lock in {@code directory}: ours and oslo's variable */
    static Map<String, String> lockDirectoryEnvironment(Path directory) {
        return Map.of(LOCK_DIR_ENV, directory.toString(), FileLockConfig.OSLO_LOCK_PATH_ENV, directory.toString());
    }

    private final UnaryOperator<@Nullable String> environment;

    @Spec
    private CommandSpec spec;

    private ReactiveLocksCli(UnaryOperator<@Nullable String> environment) {
        this.environment = environment;
    }

    /**
     * Netty's system property for the machine part of its channel ids
     * ({@code io.netty.channel.DefaultChannelId}): 6 or 8 hex bytes separated by {@code ':'} or {@code '-'}.
     */
    static final String NETTY_MACHINE_ID = "io.netty.machineId";

    /**
     * Runs the tool and exits the JVM with its exit code.
     *
     * @param args the command-line arguments
     */
    public static void main(String[] args) {
        defaultNettyMachineId(System.getProperties());
        int code = commandLine().execute(args);
        System.out.flush();
        if (code == 0 && System.out.checkError()) { // list, help, version: lost to a full disk or a closed pipe
            System.err.println("reactive-locks: cannot write to standard output");
            code = EXIT_FAILURE;
        }
        System.exit(code);
    }

    /**
     * Sets {@value #NETTY_MACHINE_ID} to random bytes unless the user set it; called before any Netty class
     * loads. Without it, the first Netty channel ({@code purge} and {@code list} of PostgreSQL and Redis
     * stores) derives the id from a network interface's hardware address, and where there is none (a
     * container or namespace with only loopback) Netty logs the warning "Failed to find a usable hardware
     * address from the network interfaces; using random bytes" on standard error on every run. Random bytes
     * are what Netty falls back to anyway; the id only needs to be unlikely to repeat, and the process id,
     * a timestamp and more random bits follow it in each channel id.
     *
     * @param properties the system properties
     */
    static void defaultNettyMachineId(Properties properties) {
        if (properties.getProperty(NETTY_MACHINE_ID) != null) {
            return;
        }
        byte[] id = new byte[8]; // EUI-64, the length of Netty's own random fallback
        ThreadLocalRandom.current().nextBytes(id);
        id[0] = (byte) ((id[0] | 0x02) & ~0x01); // locally administered, unicast: no vendor's address
        properties.setProperty(NETTY_MACHINE_ID, HexFormat.ofDelimiter(":").formatHex(id));
    }

    /**
     * The tool as a picocli {@code CommandLine}, reading the process environment; call
     * {@link CommandLine#execute(String...)} for the exit code. {@code run} and {@code wrapper} register
     * a JVM shutdown hook while they run and remove it when they return.
     *
     * @return a new command line
     */
    public static CommandLine commandLine() {
        return commandLine(System::getenv);
    }

    /** The tool reading environment variables through {@code environment} (for tests). */
    static CommandLine commandLine(UnaryOperator<@Nullable String> environment) {
        CommandLine cli = new CommandLine(new ReactiveLocksCli(environment));
        // picocli would replace an argument "@FILE" by the words of FILE, the command's arguments too
        // ("run --name n -- curl -d @payload.json"): every argument is taken as written
        cli.setExpandAtFiles(false);
        cli.setExecutionExceptionHandler(ReactiveLocksCli::handleFailure);
        CommandLine.IParameterExceptionHandler usage = cli.getParameterExceptionHandler();
        cli.setParameterExceptionHandler((e, args) -> usage.handleParseException(
                e.getCommandLine().getCommand() instanceof PurgeCommand || e.getCommandLine().getCommand() instanceof ListCommand
                        ? PurgeCommand.sanitised(e, args) : e, args));
        // "run NAME... cmd --flag": everything from the command on belongs to the command
        cli.getSubcommands().get("run").setStopAtPositional(true);
        cli.getSubcommands().get("wrapper").setStopAtPositional(true);
        return cli;
    }

    /** Without subcommand: a usage error. */
    @Override
    public void run() {
        throw new ParameterException(spec.commandLine(), "Missing subcommand: run, wrapper, list or purge");
    }

    /** @return the value of the environment variable {@code name}, {@code null} when unset */
    @Nullable String getenv(String name) {
        return environment.apply(name);
    }

    private static int handleFailure(Exception e, CommandLine cli, ParseResult parsed) {
        PrintWriter err = cli.getErr();
        if (e instanceof CliFailure failure) {
            err.println(cli.getCommandSpec().qualifiedName() + ": " + failure.getMessage());
            err.flush();
            return failure.exitCode();
        }
        err.println(cli.getCommandSpec().qualifiedName() + ": " + e);
        err.flush();
        return EXIT_FAILURE;
    }

    /** A failure with a message for standard error and the exit code it ends the tool with. */
    static final class CliFailure extends RuntimeException {

        private static final long serialVersionUID = 1L;

        private final int exitCode;

        CliFailure(int exitCode, String message) {
            super(Objects.requireNonNull(message, "message"), null, false, false);
            this.exitCode = exitCode;
        }

        int exitCode() {
            return exitCode;
        }
    }

    /** The version from the jar manifest ({@code Implementation-Version}). */
    static final class Version implements CommandLine.IVersionProvider {
        @Override
        public String[] getVersion() {
            String version = ReactiveLocksCli.class.getPackage().getImplementationVersion();
            return new String[] {"reactive-locks " + (version == null ? "(development build)" : version)};
        }
    }
}
