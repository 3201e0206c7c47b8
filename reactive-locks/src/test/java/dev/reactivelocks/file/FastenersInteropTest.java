package dev.reactivelocks.file;

import static org.assertj.core.api.Assertions.assertThat;

import dev.reactivelocks.LockHandle;
import dev.reactivelocks.LockOptions;
import dev.reactivelocks.LockService;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import reactor.test.StepVerifier;

/**
 * Java and a real fasteners {@value FastenersVenv#VERSION} peer, locking the file oslo.concurrency's
 * {@code _get_lock_path} names, exclude each other for names with path separators in them (which oslo maps
 * to {@code '_'}). The peer runs in a virtual environment under {@code target/} ({@link FastenersVenv}).
 */
class FastenersInteropTest {

    private static final Duration WAIT = Duration.ofSeconds(20);

    @TempDir
    static Path scripts;

    @RegisterExtension
    final FileLockFixture fixture = new FileLockFixture();

    private Path python;
    private Path script;
    private Path dir;
    private FileLockService locks;

    @BeforeEach
    void setUp() throws IOException {
        python = FastenersVenv.python();
        script = FileLockFixture.script(scripts, "fasteners_peer.py");
        dir = fixture.dir();
        locks = fixture.locks();
    }

    private ChildProcess peer(String prefix, String name, String mode, String action) throws IOException {
        return ChildProcess.start(python.toString(), script.toString(), dir.toString(), prefix, name, mode, action);
    }

    private String peerTry(String prefix, String name, String mode) throws Exception {
        try (ChildProcess p = peer(prefix, name, mode, "try")) {
            String answer = p.nextLine(WAIT);
            assertThat(p.waitFor(WAIT)).as("python exit; stderr: %s", p.stderr()).isZero();
            return answer;
        }
    }

    private LockService view(String prefix) {
        return prefix.isEmpty() ? locks : locks.withPrefix(prefix);
    }

    @ParameterizedTest(name = "prefix ''{0}'', name ''{1}'' is file {2}")
    @CsvSource(delimiter = '|', value = {
        "nova  | instances/42  | nova-instances_42",
        "nova- | a/b           | nova-a_b",
        "''    | /abs          | _abs",
        "''    | x/../y        | x_.._y",
        "''    | ünï code/名前 | ünï code_名前"})
    void javaAndFastenersExcludeEachOtherOnANameWithSeparators(String prefix, String name, String file)
            throws Exception {
        LockService java = view(prefix);
        LockHandle held = java.acquire(name).block(WAIT);
        assertThat(dir.resolve(file)).isRegularFile();
        assertThat(peerTry(prefix, name, "EXCLUSIVE")).isEqualTo("BUSY");
        assertThat(peerTry(prefix, name, "SHARED")).isEqualTo("BUSY");
        long javaToken = held.fencingToken();

        try (ChildProcess holder = peer(prefix, name, "EXCLUSIVE", "hold")) {
            assertThat(holder.lineNow()).isNull();
            held.release().block(WAIT);
            assertThat(holder.nextLine(WAIT)).isEqualTo("LOCKED");
            StepVerifier.create(java.tryAcquire(name)).expectComplete().verify(WAIT);
            StepVerifier.create(java.tryAcquire(name, LockOptions.shared())).expectComplete().verify(WAIT);
            AtomicReference<LockHandle> waiter = new AtomicReference<>();
            java.acquire(name, LockOptions.exclusive().timeout(WAIT)).subscribe(waiter::set);
            holder.closeInput();
            assertThat(holder.nextLine(WAIT)).isEqualTo("RELEASED");
            assertThat(holder.waitFor(WAIT)).as("stderr: %s", holder.stderr()).isZero();
            FileLockServiceTest.await(() -> waiter.get() != null, "Java waiter granted after fasteners released");
            assertThat(waiter.get().fencingToken()).as("the Python grant did not use a token; ours still rise")
                    .isGreaterThan(javaToken);
            assertThat(peerTry(prefix, name, "EXCLUSIVE")).isEqualTo("BUSY");
            waiter.get().release().block(WAIT);
        }
        assertThat(peerTry(prefix, name, "EXCLUSIVE")).isEqualTo("LOCKED");
        assertThat(Files.size(dir.resolve(file))).as("nobody wrote the lock file").isZero();
    }

    @Test
    void javaSharedHoldersAndFastenersReadersHoldTogetherAndExcludeWriters() throws Exception {
        LockHandle reader = locks.acquire("images/list", LockOptions.shared()).block(WAIT);
        assertThat(peerTry("", "images/list", "SHARED")).isEqualTo("LOCKED");
        assertThat(peerTry("", "images/list", "EXCLUSIVE")).isEqualTo("BUSY");
        try (ChildProcess pyReader = peer("", "images/list", "SHARED", "hold")) {
            assertThat(pyReader.nextLine(WAIT)).isEqualTo("LOCKED");
            reader.release().block(WAIT);
            StepVerifier.create(locks.tryAcquire("images/list")).expectComplete().verify(WAIT);
            LockHandle again = locks.tryAcquire("images/list", LockOptions.shared()).block(WAIT);
            assertThat(again).isNotNull();
            assertThat(again.fencingToken()).isGreaterThan(reader.fencingToken());
            again.release().block(WAIT);
            pyReader.closeInput();
            assertThat(pyReader.nextLine(WAIT)).isEqualTo("RELEASED");
        }
        LockHandle writer = locks.tryAcquire("images/list").block(WAIT);
        assertThat(writer).isNotNull();
        writer.release().block(WAIT);
    }
}
