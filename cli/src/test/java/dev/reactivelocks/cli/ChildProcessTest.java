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

    /**
     * Issue 14: a daemon that double-forked and called {@code setsid} left the command's tree and survived
     * the tool's SIGTERM. It keeps the command's marker variable, by which {@code destroyTree} finds it.
     */
    @Test
    void destroyTreeKillsADoubleForkedSetsidDaemon() throws Exception {
        Path pidFile = dir.resolve("pid");
        ChildProcess child = ChildProcess.start(List.of("python3", "-c", String.join("\n",
                "import os, sys, time",
                "pid = os.fork()",
                "if pid == 0:",
                "    os.setsid()",
                "    if os.fork() == 0:",
                "        with open(sys.argv[1] + '.tmp', 'w') as f:",
                "            f.write(str(os.getpid()))",
                "        os.rename(sys.argv[1] + '.tmp', sys.argv[1])",
                "        time.sleep(60)",
                "    os._exit(0)",
                "os.waitpid(pid, 0)",
                "time.sleep(60)"), pidFile.toString()), Map.of());
        Processes.await(() -> Files.exists(pidFile), Duration.ofSeconds(10), "pid file written");
        long daemon = Long.parseLong(Files.readString(pidFile).strip());
        try {
            assertThat(ProcessHandle.of(child.pid()).orElseThrow().descendants().map(ProcessHandle::pid))
                    .as("the daemon left the command's tree").doesNotContain(daemon);

            child.destroyTree(Duration.ofSeconds(20));

            assertThat(child.waitFor()).isEqualTo(128 + 15);
            Processes.await(() -> !Processes.isRunning(daemon), Duration.ofSeconds(10), "daemon " + daemon + " ended");
        } finally {
            Processes.kill(daemon);
        }
    }
}
