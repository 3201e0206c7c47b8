package dev.reactivelocks.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.reactivelocks.LockHandle;
import dev.reactivelocks.LockOptions;
import dev.reactivelocks.file.FileLockConfig;
import dev.reactivelocks.file.FileLockService;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** {@code reactive-locks run} from the real jar, in processes of its own. */
@Timeout(90)
class RunIT {

    @TempDir
    Path work;

    @TempDir
    Path locks;

    @Test
    void runStreamsTheCommandsOutputAndExitsWithItsExitCode() throws Exception {
        CliJar.Result result = CliJar.run(work, "run", "--lock-dir", locks.toString(), "--name", "job", "--",
                "sh", "-c", "echo out; echo err >&2; exit 7");

        assertThat(result.exitCode()).isEqualTo(7);
        assertThat(result.stdout()).isEqualTo("out\n");
        assertThat(result.stderr()).isEqualTo("err\n");
    }

    @Test
    void badArgumentsPrintUsageAndExit2AndTheJarKnowsItsVersion() throws Exception {
        CliJar.Result result = CliJar.run(work, "run", "--lock-dir", locks.toString(), "--name", "job",
                "--timeout", "soon", "--", "true");

        assertThat(result.exitCode()).isEqualTo(2);
        assertThat(result.stdout()).isEmpty();
        assertThat(result.stderr()).startsWith("Invalid value for option '--timeout': 'soon' is not a duration;")
                .contains("\nUsage: reactive-locks run [-hV] [--shared] [--lock-dir=DIR] --name=NAME");

        CliJar.Result version = CliJar.run(work, "--version");

        assertThat(version.exitCode()).isEqualTo(0);
        assertThat(version.stdout()).matches("reactive-locks \\d+\\.\\d+\\.\\d+(-SNAPSHOT)?\n");
    }

    /**
     * Started with its standard input closed ({@code <&-}, as some daemons and cron set-ups run), the tool
     * gave the command as standard input whatever file the JVM had opened into descriptor 0 at start-up:
     * the command read the JDK's {@code lib/modules} image instead of an end of file.
     */
    @Test
    void aCommandOfAToolStartedWithStandardInputClosedReadsNothing() throws Exception {
        Assumptions.assumeTrue(Files.isDirectory(Path.of("/proc/self/fd")), "Linux /proc");
        Path stdout = work.resolve("stdout.txt");
        Path stderr = work.resolve("stderr.txt");
        for (String subcommand : List.of("run", "wrapper")) {
            List<String> command = new ArrayList<>(List.of("sh", "-c", "exec \"$@\" <&-", "sh"));
            command.addAll(CliJar.command(subcommand.equals("run")
                    ? new String[] {"run", "--lock-dir", locks.toString(), "--name", "job", "--", "wc", "-c"}
                    : new String[] {"wrapper", "--", "wc", "-c"}));
            Process process = new ProcessBuilder(command).redirectOutput(stdout.toFile())
                    .redirectError(stderr.toFile()).start();

            assertThat(process.waitFor()).as(subcommand).isEqualTo(0);
            assertThat(Files.readString(stderr)).as(subcommand).isEmpty();
            assertThat(Files.readString(stdout)).as(subcommand + ": bytes the command read").isEqualTo("0\n");
        }
    }

    @Test
    void runHoldsTheLockWhileTheCommandRuns() throws Exception {
        List<String> args = new ArrayList<>(List.of("run", "--lock-dir", locks.toString(), "--name", "nightly",
                "--"));
        args.addAll(CliJar.command("list", "--lock-dir", locks.toString()));

        CliJar.Result result = CliJar.run(work, args.toArray(String[]::new));

        assertThat(result.stderr()).isEmpty();
        assertThat(result.exitCode()).isEqualTo(0);
        assertThat(result.stdout().lines()).hasSize(2);
        assertThat(result.stdout().lines().skip(1).findFirst()).hasValueSatisfying(line -> assertThat(line)
                .as("held exclusively by the run process (host:pid), as seen by the child's list")
                .matches("nightly  EXCLUSIVE  1 +0 +- +- +- +\\S+:\\d+"));
    }

    @Test
    void whileRunHoldsTheLockPythonLockfOnTheSameFileIsRefused() throws Exception {
        Assumptions.assumeTrue(python3(), "python3 with fcntl not on PATH");
        // what oslo.concurrency's external locks and fasteners do: fcntl.lockf on DIR/NAME
        String script = "import fcntl, sys\n"
                + "f = open(sys.argv[1], 'r+')\n"
                + "try:\n"
                + "    fcntl.lockf(f, fcntl.LOCK_EX | fcntl.LOCK_NB)\n"
                + "except OSError:\n"
                + "    sys.exit(42)\n";

        CliJar.Result held = CliJar.run(work, "run", "--lock-dir", locks.toString(), "--name", "nova-compute",
                "--", "python3", "-c", script, locks.resolve("nova-compute").toString());

        assertThat(held.stderr()).isEmpty();
        assertThat(held.exitCode()).as("python's lockf refused while run holds the lock").isEqualTo(42);
        Process free = new ProcessBuilder("python3", "-c", script, locks.resolve("nova-compute").toString())
                .inheritIO().start();
        assertThat(free.waitFor()).as("python's lockf succeeds after run released the lock").isEqualTo(0);
    }

    private static boolean python3() {
        try {
            Process p = new ProcessBuilder("python3", "-c", "import fcntl").inheritIO().start();
            return p.waitFor() == 0;
        } catch (Exception e) {
            return false;
        }
    }

    @Test
    void whileOneRunHoldsTheLockAnotherTimesOutWith75AndSigtermKillsTheCommandTreeAndFreesTheLock()
            throws Exception {
        Path marker = work.resolve("second-ran");
        try (CliJar.Running first = CliJar.start(work, "run", "--lock-dir", locks.toString(), "--name", "build",
                "--", "sh", "-c", "sleep 120 & echo \"$$ $!\"; wait")) {
            // printed by the command, so the first run holds the lock now
            String[] pids = first.readLine().split(" ");
            long shellPid = Long.parseLong(pids[0]);
            long sleepPid = Long.parseLong(pids[1]);

            CliJar.Result second = CliJar.run(work, "run", "--lock-dir", locks.toString(), "--name", "build",
                    "--timeout", "200ms", "--", "touch", marker.toString());

            assertThat(second.exitCode()).isEqualTo(75);
            assertThat(second.stderr()).isEqualTo("reactive-locks run: lock 'build' (exclusive) not acquired within"
                    + " 200ms (lock file " + locks.resolve("build") + ")\n");
            assertThat(second.stdout()).isEmpty();
            assertThat(marker).doesNotExist();
            assertThat(Processes.isRunning(shellPid)).isTrue();

            first.process().destroy(); // SIGTERM to the first reactive-locks process

            assertThat(first.awaitExit(Duration.ofSeconds(30))).isEqualTo(128 + 15);
            assertThat(first.stderr()).isEmpty();
            try {
                Processes.await(() -> !Processes.isRunning(shellPid) && !Processes.isRunning(sleepPid),
                        Duration.ofSeconds(10), "command " + shellPid + " and its child " + sleepPid + " killed");
            } finally {
                Processes.kill(shellPid, sleepPid);
            }
        }
        FileLockService service = FileLockService.create(FileLockConfig.builder().lockDirectory(locks).build());
        try {
            LockHandle handle = service.tryAcquire("build", LockOptions.exclusive()).block(Duration.ofSeconds(10));
            assertThat(handle).as("lock 'build' free after SIGTERM").isNotNull();
            handle.release().block(Duration.ofSeconds(10));
        } finally {
            service.dispose();
        }
    }

    @Test
    void sigintKillsTheCommandAndReleasesTheLock() throws Exception {
        Assumptions.assumeFalse(Processes.ignoresSigint(), "SIGINT is ignored in this test JVM and its children");
        try (CliJar.Running run = CliJar.start(work, "run", "--lock-dir", locks.toString(), "--name", "build",
                "--", "sh", "-c", "echo $$; exec sleep 120")) {
            long commandPid = Long.parseLong(run.readLine());

            Process kill = new ProcessBuilder("kill", "-INT", Long.toString(run.process().pid())).inheritIO().start();
            assertThat(kill.waitFor()).isEqualTo(0);

            assertThat(run.awaitExit(Duration.ofSeconds(30))).isEqualTo(128 + 2);
            try {
                Processes.await(() -> !Processes.isRunning(commandPid), Duration.ofSeconds(10),
                        "command " + commandPid + " killed");
            } finally {
                Processes.kill(commandPid);
            }
        }
        FileLockService service = FileLockService.create(FileLockConfig.builder().lockDirectory(locks).build());
        try {
            LockHandle handle = service.tryAcquire("build", LockOptions.exclusive()).block(Duration.ofSeconds(10));
            assertThat(handle).as("lock 'build' free after SIGINT").isNotNull();
            handle.release().block(Duration.ofSeconds(10));
        } finally {
            service.dispose();
        }
    }

    @Test
    void sigtermWhileWaitingForTheLockExitsWithoutRunningTheCommand() throws Exception {
        Path marker = work.resolve("waiter-ran");
        FileLockService service = FileLockService.create(FileLockConfig.builder().lockDirectory(locks).build());
        LockHandle held = service.acquire("build").block(Duration.ofSeconds(10));
        try (CliJar.Running waiter = CliJar.start(work, "run", "--lock-dir", locks.toString(), "--name", "build",
                "--", "touch", marker.toString())) {
            // the waiter's JVM announces nothing while it waits: wait until it has opened the lock file
            Processes.await(() -> Processes.hasOpen(waiter.process().pid(), locks.resolve("build")),
                    Duration.ofSeconds(30), "waiter opened the lock file");

            waiter.process().destroy();

            assertThat(waiter.awaitExit(Duration.ofSeconds(30))).isEqualTo(128 + 15);
            assertThat(marker).doesNotExist();
        } finally {
            held.release().block(Duration.ofSeconds(10));
            service.dispose();
        }
    }
}
