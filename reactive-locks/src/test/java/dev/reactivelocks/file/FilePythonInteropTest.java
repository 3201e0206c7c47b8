package dev.reactivelocks.file;

import static org.assertj.core.api.Assertions.assertThat;

import dev.reactivelocks.LockHandle;
import dev.reactivelocks.LockOptions;
import dev.reactivelocks.LockService;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import reactor.test.StepVerifier;

/**
 * Java file locks and Python's {@code fcntl.lockf} (what oslo.concurrency and fasteners use) exclude each
 * other on the same lock file, named the way oslo.concurrency names it. Skipped only where {@code python3}
 * is missing.
 */
class FilePythonInteropTest {

    private static final Duration WAIT = Duration.ofSeconds(20);
    private static boolean python;

    @TempDir
    static Path scripts;

    @TempDir
    Path tmp;

    private Path dir;
    private FileLockService locks;
    private LockService nova;
    private Path script;

    @BeforeAll
    static void findPython() {
        try {
            Process p = new ProcessBuilder("python3", "-c", "import fcntl").redirectErrorStream(true).start();
            python = p.waitFor(20, TimeUnit.SECONDS) && p.exitValue() == 0;
        } catch (IOException | InterruptedException e) {
            python = false;
        }
    }

    @BeforeEach
    void setUp() throws IOException {
        Assumptions.assumeTrue(python, "python3 (with fcntl) not found on PATH: skipping the Python lockf interop test");
        script = FileLockFixture.script(scripts, "lockf_peer.py");
        dir = tmp.resolve("locks");
        locks = FileLockService.create(FileLockConfig.builder().lockDirectory(dir).build());
        nova = locks.withPrefix("nova");
    }

    @AfterEach
    void tearDown() {
        if (locks != null) {
            locks.disposeLater().block(WAIT);
            FileLockServiceTest.await(() -> LockFileRegistry.openEntries() == 0, "all lock file entries closed");
        }
    }

    private ChildProcess python(String name, String mode, String action) throws IOException {
        return ChildProcess.start("python3", script.toString(), dir.toString(), "nova", name, mode, action);
    }

    private String pythonTry(String name, String mode) throws Exception {
        try (ChildProcess p = python(name, mode, "try")) {
            String answer = p.nextLine(WAIT);
            assertThat(p.waitFor(WAIT)).as("python exit; stderr: %s", p.stderr()).isZero();
            return answer;
        }
    }

    @Test
    void aJavaHolderBlocksPythonLockfAndAPythonHolderBlocksJava() throws Exception {
        LockHandle java = nova.acquire("instances/42").block(WAIT);
        assertThat(dir.resolve("nova-instances_42")).isRegularFile();
        assertThat(pythonTry("instances/42", "EXCLUSIVE")).isEqualTo("BUSY");
        assertThat(pythonTry("instances/42", "SHARED")).isEqualTo("BUSY");

        try (ChildProcess holder = python("instances/42", "EXCLUSIVE", "hold")) {
            assertThat(holder.lineNow()).isNull();
            java.release().block(WAIT);
            assertThat(holder.nextLine(WAIT)).isEqualTo("LOCKED"); // its blocking lockf returned after our release

            StepVerifier.create(nova.tryAcquire("instances/42")).expectComplete().verify(WAIT);
            StepVerifier.create(nova.tryAcquire("instances/42", LockOptions.shared())).expectComplete().verify(WAIT);
            StepVerifier.create(nova.acquire("instances/42", LockOptions.exclusive().timeout(Duration.ofMillis(200))))
                    .expectErrorMessage("Lock 'nova-instances/42' (EXCLUSIVE) not acquired within 200ms")
                    .verify(WAIT);
            AtomicReference<LockHandle> waiter = new AtomicReference<>();
            nova.acquire("instances/42").subscribe(waiter::set);

            holder.closeInput();
            assertThat(holder.nextLine(WAIT)).isEqualTo("RELEASED");
            assertThat(holder.waitFor(WAIT)).isZero();
            FileLockServiceTest.await(() -> waiter.get() != null, "Java waiter granted after Python released");
            assertThat(pythonTry("instances/42", "EXCLUSIVE")).isEqualTo("BUSY");
            waiter.get().release().block(WAIT);
        }
        assertThat(pythonTry("instances/42", "EXCLUSIVE")).isEqualTo("LOCKED");
    }

    @Test
    void javaAndPythonHoldTheFileSharedTogether() throws Exception {
        LockHandle java = nova.acquire("images", LockOptions.shared()).block(WAIT);
        assertThat(pythonTry("images", "SHARED")).isEqualTo("LOCKED");
        assertThat(pythonTry("images", "EXCLUSIVE")).isEqualTo("BUSY");
        try (ChildProcess reader = python("images", "SHARED", "hold")) {
            assertThat(reader.nextLine(WAIT)).isEqualTo("LOCKED");
            java.release().block(WAIT);
            LockHandle again = nova.acquire("images", LockOptions.shared().timeout(WAIT)).block(WAIT);
            StepVerifier.create(nova.tryAcquire("images")).expectComplete().verify(WAIT);
            again.release().block(WAIT);
            reader.closeInput();
            assertThat(reader.nextLine(WAIT)).isEqualTo("RELEASED");
        }
    }
}
