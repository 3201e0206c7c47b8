package dev.reactivelocks.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** {@code reactive-locks wrapper} from the real jar. */
@Timeout(90)
class WrapperIT {

    @TempDir
    Path work;

    @TempDir
    Path tmp;

    @Test
    void wrapperExportsAPrivateLockDirectoryAndRemovesItAfterwards() throws Exception {
        CliJar.Result result = CliJar.run(work, Map.of("TMPDIR", tmp.toString()), "wrapper", "--", "sh", "-c",
                "echo \"$REACTIVE_LOCKS_DIR\"; stat -c %a \"$REACTIVE_LOCKS_DIR\";"
                        + " touch \"$REACTIVE_LOCKS_DIR/lock\" && exit 4");

        assertThat(result.exitCode()).isEqualTo(4);
        assertThat(result.stderr()).isEmpty();
        String[] lines = result.stdout().split("\n");
        Path lockDir = Path.of(lines[0]);
        assertThat(lockDir.getParent()).isEqualTo(tmp);
        assertThat(lockDir.getFileName().toString()).startsWith("reactive-locks-");
        assertThat(lines[1]).isEqualTo("700");
        assertThat(lockDir).doesNotExist();
        assertThat(tmp).isEmptyDirectory();
    }

    @Test
    void wrapperExportsTheDirectoryAsOslosLockPathToo() throws Exception {
        CliJar.Result result = CliJar.run(work, Map.of("TMPDIR", tmp.toString()), "wrapper", "--", "sh", "-c",
                "test \"$OSLO_LOCK_PATH\" = \"$REACTIVE_LOCKS_DIR\" && echo same");

        assertThat(result.stderr()).isEmpty();
        assertThat(result.exitCode()).isEqualTo(0);
        assertThat(result.stdout()).isEqualTo("same\n");
    }

    @Test
    void runFindsTheDirectoryInOslosLockPathAndExportsBoth() throws Exception {
        Path dir = Files.createDirectories(tmp.resolve("oslo-locks"));
        CliJar.Result result = CliJar.run(work, Map.of("OSLO_LOCK_PATH", dir.toString()), "run", "--name", "job",
                "--", "sh", "-c", "echo \"$REACTIVE_LOCKS_DIR $OSLO_LOCK_PATH\"");

        assertThat(result.stderr()).isEmpty();
        assertThat(result.exitCode()).isEqualTo(0);
        assertThat(result.stdout()).isEqualTo(dir + " " + dir + "\n");
        assertThat(dir.resolve("job")).exists();
    }

    @Test
    void runInsideWrapperLocksInTheExportedDirectory() throws Exception {
        String run = String.join(" ", CliJar.command("run", "--name", "suite", "--", "true"));
        CliJar.Result result = CliJar.run(work, Map.of("TMPDIR", tmp.toString()), "wrapper", "--", "sh", "-c",
                run + " && ls \"$REACTIVE_LOCKS_DIR\"");

        assertThat(result.stderr()).isEmpty();
        assertThat(result.exitCode()).isEqualTo(0);
        assertThat(result.stdout()).isEqualTo("suite\n");
        assertThat(tmp).isEmptyDirectory();
    }

    @Test
    void sigtermKillsTheCommandAndRemovesTheDirectory() throws Exception {
        try (CliJar.Running wrapper = CliJar.start(work, Map.of("TMPDIR", tmp.toString()), "wrapper", "--", "sh",
                "-c", "touch \"$REACTIVE_LOCKS_DIR/lock\"; echo \"$$ $REACTIVE_LOCKS_DIR\"; exec sleep 120")) {
            String[] line = wrapper.readLine().split(" ", 2);
            long commandPid = Long.parseLong(line[0]);
            Path lockDir = Path.of(line[1]);
            assertThat(lockDir.resolve("lock")).isRegularFile();

            wrapper.process().destroy();

            assertThat(wrapper.awaitExit(Duration.ofSeconds(30))).isEqualTo(128 + 15);
            assertThat(wrapper.stderr()).isEmpty();
            assertThat(lockDir).doesNotExist();
            try {
                Processes.await(() -> !Processes.isRunning(commandPid), Duration.ofSeconds(10),
                        "command " + commandPid + " killed");
            } finally {
                Processes.kill(commandPid);
            }
        }
        assertThat(Files.list(tmp)).isEmpty();
    }
}
