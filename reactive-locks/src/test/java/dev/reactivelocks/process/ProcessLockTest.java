package dev.reactivelocks.process;

import static org.assertj.core.api.Assertions.assertThat;

import dev.reactivelocks.LockHandle;
import dev.reactivelocks.LockService;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import reactor.core.Disposable;
import reactor.core.publisher.Flux;
import reactor.test.StepVerifier;

class ProcessLockTest {

    static final Duration WAIT = Duration.ofSeconds(20);
    static ProcessExecutor exec;
    static LockService locks;

    @TempDir
    Path dir;

    @BeforeAll
    static void create() {
        exec = ProcessExecutor.create();
        locks = LockService.inProcess();
    }

    @AfterAll
    static void dispose() {
        exec.disposeLater().block(WAIT);
        locks.disposeLater().block(WAIT);
    }

    static boolean isFree(String name) {
        LockHandle handle = locks.tryAcquire(name).block(WAIT);
        if (handle == null) {
            return false;
        }
        handle.release().block(WAIT);
        return true;
    }

    @Test
    void processStartsOnlyAfterTheGrantAndTheLockIsReleasedWhenItExits() {
        AtomicInteger starts = new AtomicInteger();
        LockHandle held = locks.acquire("grant").block(WAIT);
        CompletableFuture<ProcessResult> result = locks.withLock("grant",
                        exec.execute(ProcessSpec.command("echo", "ran").onStart(h -> starts.incrementAndGet()).build()))
                .toFuture();

        exec.execute(ProcessSpec.command("true").build()).block(WAIT); // the pool had time to spawn
        assertThat(starts).hasValue(0);
        assertThat(result).isNotDone();

        held.release().block(WAIT);

        assertThat(result.join().stdoutText()).isEqualTo("ran\n");
        assertThat(starts).hasValue(1);
        assertThat(isFree("grant")).isTrue();
    }

    @Test
    void lockIsReleasedWhenTheProcessFails() {
        StepVerifier.create(locks.withLock("fail", exec.execute(ProcessSpec.command("false").build())))
                .expectError(ProcessExecutionException.class)
                .verify(WAIT);
        assertThat(isFree("fail")).isTrue();

        StepVerifier.create(locks.withLock("fail", exec.execute(ProcessSpec.command("sleep", "100")
                        .timeout(Duration.ofMillis(100)).build())))
                .expectError(ProcessTimeoutException.class)
                .verify(WAIT);
        assertThat(isFree("fail")).isTrue();
    }

    @Test
    void cancellingKillsTheProcessAndReleasesTheLock() throws Exception {
        CompletableFuture<Long> started = new CompletableFuture<>();
        CompletableFuture<Integer> exit = new CompletableFuture<>();
        Disposable run = locks.withLock("cancel", exec.execute(ProcessSpec.command("sleep", "100")
                        .onStart(h -> started.complete(h.pid()))
                        .onExit((h, code) -> exit.complete(code))
                        .build()))
                .subscribe();
        long pid = started.get(10, TimeUnit.SECONDS);
        assertThat(isFree("cancel")).isFalse();

        run.dispose();

        LockHandle next = locks.acquire("cancel").block(WAIT);
        assertThat(exit).as("the lock comes back only after the child was reaped").isDone();
        assertThat(exit.get()).isEqualTo(128 + 15);
        assertThat(Procs.isDead(pid)).isTrue();
        next.release().block(WAIT);
    }

    @Test
    void cancelledScopeHoldsTheLockUntilAChildIgnoringTermIsKilledAndReaped() throws Exception {
        CompletableFuture<Long> started = new CompletableFuture<>();
        CompletableFuture<Object> trapSet = new CompletableFuture<>();
        CompletableFuture<Integer> exit = new CompletableFuture<>();
        Disposable run = locks.withLockMany("stubborn", dev.reactivelocks.LockOptions.exclusive(), h -> exec.stream(
                        ProcessSpec.command("sh", "-c", "trap '' TERM; echo ready; sleep 100")
                                .killGrace(Duration.ofSeconds(1))
                                .onStart(p -> started.complete(p.pid()))
                                .onExit((p, code) -> exit.complete(code))
                                .build()))
                .subscribe(trapSet::complete);
        long pid = started.get(10, TimeUnit.SECONDS);
        trapSet.get(10, TimeUnit.SECONDS);

        run.dispose();
        assertThat(isFree("stubborn")).as("still held while the child survives SIGTERM").isFalse();

        LockHandle next = locks.acquire("stubborn").block(WAIT);
        assertThat(exit).isDone();
        assertThat(exit.get()).isEqualTo(128 + 9);
        assertThat(Procs.isDead(pid)).isTrue();
        next.release().block(WAIT);
    }

    @Test
    void processesUnderTheSameLockNeverOverlap() throws Exception {
        Path log = dir.resolve("log");
        Flux.range(0, 6)
                .flatMap(i -> locks.withLock("serial", exec.execute(ProcessSpec.command("sh", "-c",
                        "echo start $1 >> \"$2\"; sleep 0.05; echo end $1 >> \"$2\"", "sh", "" + i, log.toString())
                        .build())), 6)
                .blockLast(WAIT);

        List<String> lines = Files.readAllLines(log);
        assertThat(lines).hasSize(12);
        for (int i = 0; i < 12; i += 2) {
            String id = lines.get(i).substring("start ".length());
            assertThat(lines.get(i)).isEqualTo("start " + id);
            assertThat(lines.get(i + 1)).isEqualTo("end " + id);
        }
    }

    @Test
    void streamedProcessUnderALockExample() {
        List<String> lines = ProcessExamples.streamUnderLock(locks, exec, "demo").collectList().block(WAIT);
        assertThat(lines).hasSize(4);
        assertThat(lines.subList(0, 3)).allMatch(l -> l.matches("\\[token \\d+] STDOUT step \\d"));
        assertThat(lines).anyMatch(l -> l.endsWith("STDERR done"));
        assertThat(isFree("demo")).isTrue();
    }

    @Test
    void streamedProcessUnderALockReleasesItOnCancel() {
        StepVerifier.create(ProcessExamples.streamUnderLock(locks, exec, "demo-cancel"), 1)
                .expectNextMatches(l -> l.endsWith("step 1"))
                .then(() -> assertThat(isFree("demo-cancel")).isFalse())
                .thenCancel()
                .verify(WAIT);
        LockHandle next = locks.acquire("demo-cancel").block(WAIT);
        assertThat(next).as("released once the cancelled child was reaped").isNotNull();
        next.release().block(WAIT);
    }
}
