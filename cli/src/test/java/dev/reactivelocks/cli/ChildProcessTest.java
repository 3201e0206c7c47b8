package dev.reactivelocks.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

@Timeout(30)
class ChildProcessTest {

    @TempDir
    Path dir;

    @Test
    void destroyTreeKillsTheCommandAndItsDescendantsEvenWhenTheyIgnoreSigterm() throws Exception {
        Path pidFile = dir.resolve("pid");
        // SIGTERM is ignored by the shell and, inherited, by its sleep
        ChildProcess child = ChildProcess.start(List.of("sh", "-c",
                "trap '' TERM; sleep 60 & echo $! > \"$0.tmp\"; mv \"$0.tmp\" \"$0\"; wait", pidFile.toString()),
                Map.of());
        Processes.await(() -> Files.exists(pidFile), Duration.ofSeconds(10), "pid file written");
        long sleepPid = Long.parseLong(Files.readString(pidFile).strip());
        assertThat(ProcessHandle.of(sleepPid)).hasValueSatisfying(p -> assertThat(p.isAlive()).isTrue());

        long start = System.nanoTime();
        child.destroyTree(Duration.ofMillis(300));
        Duration took = Duration.ofNanos(System.nanoTime() - start);

        assertThat(child.waitFor()).isEqualTo(128 + 9);
        assertThat(took).isGreaterThanOrEqualTo(Duration.ofMillis(300));
        try {
            Processes.await(() -> !Processes.isRunning(sleepPid), Duration.ofSeconds(10),
                    "sleep " + sleepPid + " killed");
        } finally {
            Processes.kill(sleepPid);
        }
    }

    @Test
    void destroyTreeReturnsAsSoonAsTheTreeExitedOnSigterm() throws Exception {
        Path pidFile = dir.resolve("pid");
        ChildProcess child = ChildProcess.start(List.of("sh", "-c",
                "sleep 60 & echo $! > \"$0.tmp\"; mv \"$0.tmp\" \"$0\"; wait", pidFile.toString()), Map.of());
        Processes.await(() -> Files.exists(pidFile), Duration.ofSeconds(10), "pid file written");
        long sleepPid = Long.parseLong(Files.readString(pidFile).strip());

        child.destroyTree(Duration.ofSeconds(20));

        assertThat(child.waitFor()).isEqualTo(128 + 15);
        try {
            Processes.await(() -> !Processes.isRunning(sleepPid), Duration.ofSeconds(10),
                    "sleep " + sleepPid + " ended");
        } finally {
            Processes.kill(sleepPid);
        }
    }
}
