package dev.reactivelocks.file;

import static org.assertj.core.api.Assertions.assertThat;

import dev.reactivelocks.IllegalLockStateException;
import dev.reactivelocks.LockHandle;
import dev.reactivelocks.LockOptions;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import reactor.test.StepVerifier;

/**
 * Issue 14, section 2: one lock file reachable under two paths in one JVM (a hard link, a symlinked
 * directory, a bind mount) is one lock. Channels and the in-JVM queue used to be keyed by path, so after
 * {@code Job} was used and released, acquiring its hard link {@code job} opened a second descriptor of the
 * file; when the idle channel of {@code Job} was closed, POSIX dropped the lock held through {@code job}
 * while its handle still reported {@code isHeld()}, and a Python {@code fcntl.lockf} peer got the file.
 */
class FileLockAliasTest {

    private static final Duration WAIT = Duration.ofSeconds(20);
    private static final String LOCKF_TRY = "import fcntl, sys\n"
            + "f = open(sys.argv[1], 'a+')\n"
            + "try:\n"
            + "    fcntl.lockf(f, fcntl.LOCK_EX | fcntl.LOCK_NB)\n"
            + "    print('LOCKED', flush=True)\n"
            + "except OSError:\n"
            + "    print('BUSY', flush=True)\n";

    private static Boolean python;

    @TempDir
    Path tmp;

    private FileLockService first;
    private FileLockService second;

    private static synchronized boolean python() {
        if (python == null) {
            try {
                Process p = new ProcessBuilder("python3", "-c", "import fcntl").redirectErrorStream(true).start();
                python = p.waitFor(20, TimeUnit.SECONDS) && p.exitValue() == 0;
            } catch (IOException | InterruptedException e) {
                python = false;
            }
        }
        return python;
    }

    @AfterEach
    void tearDown() {
        for (FileLockService s : new FileLockService[] {first, second}) {
            if (s != null) {
                s.disposeLater().block(WAIT);
            }
        }
        FileLockServiceTest.await(() -> LockFileRegistry.openEntries() == 0, "all lock file entries closed");
    }

    static FileLockService service(Path dir) {
        return FileLockService.create(FileLockConfig.builder().lockDirectory(dir)
                .channelIdleTimeout(Duration.ofMillis(100)).build());
    }

    /** One non-blocking exclusive {@code fcntl.lockf} attempt by a Python process: LOCKED or BUSY. */
    static String pythonTry(Path file) throws Exception {
        Assumptions.assumeTrue(python(), "python3 (with fcntl) not found on PATH");
        try (ChildProcess p = ChildProcess.start("python3", "-c", LOCKF_TRY, file.toString())) {
            String answer = p.nextLine(WAIT);
            assertThat(p.waitFor(WAIT)).as("python exit; stderr: %s", p.stderr()).isZero();
            return answer;
        }
    }

    /**
     * Uses {@code usedName} through {@code usedBy}, then holds {@code heldName} (the same file under another
     * path) through {@code heldBy}, waits until at most one channel is open (the idle one of the first path
     * would have been closed by then), and checks that the lock still excludes other processes.
     */
    private static void aliasKeepsItsLock(FileLockService usedBy, String usedName, Path usedFile,
                                          FileLockService heldBy, String heldName, Path heldFile) throws Exception {
        usedBy.acquire(usedName).flatMap(LockHandle::release).block(WAIT);
        LockHandle held = heldBy.acquire(heldName).block(WAIT);
        assertThat(held.isHeld()).isTrue();
        FileLockServiceTest.await(() -> LockFileRegistry.openChannels() == 1, "the idle alias channel closed");

        assertThat(pythonTry(usedFile)).isEqualTo("BUSY");
        assertThat(pythonTry(heldFile)).isEqualTo("BUSY");
        assertThat(held.isHeld()).isTrue();
        StepVerifier.create(usedBy.tryAcquire(usedName)).as("one lock in the JVM").expectComplete().verify(WAIT);

        held.release().block(WAIT);
        assertThat(pythonTry(usedFile)).isEqualTo("LOCKED");
    }

    @Test
    void aHardLinkedLockFileIsOneLockAndClosingTheOtherNameKeepsTheHoldersLock() throws Exception {
        Path dir = tmp.resolve("locks");
        first = service(dir);
        first.acquire("Job").flatMap(LockHandle::release).block(WAIT);
        Files.createLink(dir.resolve("job"), dir.resolve("Job"));

        aliasKeepsItsLock(first, "Job", dir.resolve("Job"), first, "job", dir.resolve("job"));
    }

    @Test
    void reenteringALockFileThroughAnotherNameOrServiceFailsInsteadOfWaitingForItself() throws Exception {
        Path dir = tmp.resolve("locks");
        first = service(dir);
        second = service(dir);
        first.acquire("Job").flatMap(LockHandle::release).block(WAIT);
        Files.createLink(dir.resolve("job"), dir.resolve("Job"));
        LockOptions briefly = LockOptions.exclusive().timeout(Duration.ofSeconds(2));

        StepVerifier.create(first.withLock("a/b", LockOptions.exclusive(), h -> first.acquire("a_b", briefly)))
                .expectErrorSatisfies(e -> assertThat(e).isInstanceOf(IllegalLockStateException.class)
                        .hasMessage("Lock 'a_b' is the lock file of 'a/b', held (EXCLUSIVE) by this pipeline; "
                                + "locks are not reentrant"))
                .verify(WAIT);
        StepVerifier.create(first.withLock("Job", LockOptions.shared(), h -> second.acquire("job", briefly)))
                .expectErrorSatisfies(e -> assertThat(e).isInstanceOf(IllegalLockStateException.class)
                        .hasMessage("Lock 'job' is the lock file of 'Job', held SHARED by this pipeline; "
                                + "upgrading to EXCLUSIVE would deadlock"))
                .verify(WAIT);
        assertThat(pythonTry(dir.resolve("job"))).isEqualTo("LOCKED"); // both scopes released the file
    }

    @Test
    void aSymlinkedLockDirectoryIsOneLockDirectory() throws Exception {
        Path dir = Files.createDirectories(tmp.resolve("locks"));
        Path alias = Files.createSymbolicLink(tmp.resolve("alias"), dir);
        first = service(dir);
        second = service(alias);

        aliasKeepsItsLock(first, "job", dir.resolve("job"), second, "job", alias.resolve("job"));
    }

    @Test
    void aBindMountedLockDirectoryIsOneLockDirectory() throws Exception {
        Path dir = Files.createDirectories(tmp.resolve("locks"));
        Path bound = Files.createDirectories(tmp.resolve("bound"));
        String refused = run("mount", "--bind", dir.toString(), bound.toString());
        if (refused != null) {
            System.out.println("FileLockAliasTest: skipping the bind mount case, mount refused: " + refused);
            Assumptions.abort("mount --bind not possible here: " + refused);
        }
        try {
            first = service(dir);
            second = service(bound);
            aliasKeepsItsLock(first, "job", dir.resolve("job"), second, "job", bound.resolve("job"));
        } finally {
            try {
                tearDown(); // close every descriptor under the mount before unmounting it
            } finally {
                first = null;
                second = null;
                assertThat(run("umount", "--lazy", bound.toString())).isNull();
            }
        }
    }

    /** Runs a command; returns null when it exits 0, else its output and exit code. */
    private static String run(String... command) throws Exception {
        Process p;
        try {
            p = new ProcessBuilder(command).redirectErrorStream(true).start();
        } catch (IOException e) {
            return e.toString();
        }
        String out = new String(p.getInputStream().readAllBytes()).trim();
        if (!p.waitFor(20, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            return "timed out";
        }
        return p.exitValue() == 0 ? null : out + " (exit " + p.exitValue() + ")";
    }
}
