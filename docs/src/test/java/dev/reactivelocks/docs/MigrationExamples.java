package dev.reactivelocks.docs;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.reactivelocks.LockHandle;
import dev.reactivelocks.LockOptions;
import dev.reactivelocks.LockService;
import dev.reactivelocks.distributed.DistributedLockService;
import dev.reactivelocks.distributed.InMemoryLockBackend;
import dev.reactivelocks.file.FileLockConfig;
import dev.reactivelocks.file.FileLockService;
import dev.reactivelocks.process.ProcessExecutionException;
import dev.reactivelocks.process.ProcessExecutor;
import dev.reactivelocks.process.ProcessResult;
import dev.reactivelocks.process.ProcessSpec;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;

/** The samples of migration.adoc and process.adoc, executed. */
class MigrationExamples {

    @TempDir
    Path lockDir;

    private final LockService locks = LockService.inProcess();
    private final ProcessExecutor exec = ProcessExecutor.create();

    @AfterEach
    void dispose() {
        locks.dispose();
        exec.disposeLater().block(Duration.ofSeconds(30));
    }

    private Mono<String> rebootInstance(String id) {
        return Mono.just("rebooted " + id);
    }

    @Test
    void osloSynchronized() {
        // tag::oslo-synchronized[]
        // @lockutils.synchronized('instance-' + id)          (a thread waits in oslo; here nothing does)
        Mono<String> reboot = locks.withLock("instance-42", rebootInstance("42"));
        // end::oslo-synchronized[]
        assertThat(reboot.block()).isEqualTo("rebooted 42");
    }

    @Test
    void osloExternalLock() {
        // tag::oslo-external[]
        // with lockutils.lock('refresh_cache', external=True, lock_path='/var/lib/nova/locks'):
        LockService fileLocks = FileLockService.create(FileLockConfig.builder()
                .lockDirectory(lockDir)                            // or -Dreactivelocks.lock-dir / REACTIVE_LOCKS_DIR
                .build());
        Mono<String> refreshed = fileLocks.withLock("refresh_cache", Mono.just("refreshed"));
        // same lock file as oslo: lockDir/refresh_cache, fcntl.lockf-compatible
        // end::oslo-external[]
        assertThat(refreshed.block(Duration.ofSeconds(10))).isEqualTo("refreshed");
        fileLocks.disposeLater().block(Duration.ofSeconds(10));
    }

    @Test
    void fileChannelIdleTimeout() {
        // tag::idle-channel[]
        LockService fileLocks = FileLockService.create(FileLockConfig.builder()
                .lockDirectory(lockDir)
                .channelIdleTimeout(Duration.ofSeconds(10))   // keep a file open 10s after its last use (default 1s)
                .build());                                    // Duration.ZERO: close it with its last user
        Mono<String> first = fileLocks.withLock("report", Mono.just("first"));
        Mono<String> second = fileLocks.withLock("report", Mono.just("second")); // reuses the open file
        // end::idle-channel[]
        assertThat(first.then(second).block(Duration.ofSeconds(10))).isEqualTo("second");
        fileLocks.disposeLater().block(Duration.ofSeconds(10));           // closes idle files at once
    }

    @Test
    void osloWithPrefix() {
        // tag::oslo-prefix[]
        // synchronized = lockutils.synchronized_with_prefix('nova-')
        LockService nova = locks.withPrefix("nova");
        Mono<String> r = nova.withLock("instance-42", rebootInstance("42"));   // lock "nova-instance-42"
        // end::oslo-prefix[]
        assertThat(r.block()).isEqualTo("rebooted 42");
    }

    @Test
    void osloProcessutilsExecute() {
        // tag::oslo-execute[]
        // out, err = processutils.execute('sh', '-c', 'echo $GREETING', env_variables={...},
        //                                 check_exit_code=[0], attempts=3, timeout=30)
        ProcessSpec spec = ProcessSpec.command("sh", "-c", "echo $GREETING")
                .environment(java.util.Map.of("GREETING", "hello"))
                .checkExitCode(0)
                .attempts(3)                                       // retried on a bad exit code, not on timeout
                .timeout(Duration.ofSeconds(30))                   // then TERM to the process group, KILL after grace
                .build();
        Mono<ProcessResult> result = exec.execute(spec);          // nothing runs until subscribed
        // end::oslo-execute[]
        ProcessResult r = result.block(Duration.ofSeconds(30));
        assertThat(r.exitCode()).isZero();
        assertThat(r.stdoutText()).isEqualTo("hello\n");
    }

    @Test
    void osloProcessExecutionError() {
        // tag::oslo-execution-error[]
        Mono<ProcessResult> failing = exec.execute(ProcessSpec.command("sh", "-c", "echo oops >&2; exit 3").build())
                .onErrorResume(ProcessExecutionException.class, e -> {
                    // e.exitCode() == 3, e.stderr() == "oops\n", e.command(), e.description(): like oslo's
                    return Mono.empty();
                });
        // end::oslo-execution-error[]
        assertThat(failing.block(Duration.ofSeconds(30))).isNull();
        assertThatThrownBy(() -> exec.execute(ProcessSpec.command("sh", "-c", "exit 3").build()).block())
                .isInstanceOf(ProcessExecutionException.class)
                .satisfies(e -> assertThat(((ProcessExecutionException) e).exitCode()).isEqualTo(3));
    }

    @Test
    void processStreaming() {
        // tag::process-stream[]
        Flux<String> lines = exec.stream(ProcessSpec.command("sh", "-c", "printf 'a\\nb\\n'; echo c >&2").build())
                .map(out -> out.source() + " " + out.text());    // read only while there is demand
        // end::process-stream[]
        assertThat(lines.collectList().block(Duration.ofSeconds(30)))
                .containsExactlyInAnyOrder("STDOUT a", "STDOUT b", "STDERR c");
    }

    @Test
    void processUnderLock() {
        // tag::process-under-lock[]
        Mono<ProcessResult> migrate = locks.withLock("db-migrations",
                exec.execute(ProcessSpec.command("sh", "-c", "echo migrated").build()));
        // starts only after the grant; the lock is released when the process exits or fails;
        // on cancel the process tree is killed and the lock released once the child is reaped
        // end::process-under-lock[]
        assertThat(migrate.block(Duration.ofSeconds(30)).stdoutText()).isEqualTo("migrated\n");
    }

    @Test
    void multiprocessingUtilsSharedLock() {
        AtomicInteger readers = new AtomicInteger();
        // tag::shared-lock[]
        // lock = multiprocessing_utils.SharedLock()
        // with lock:              -> shared          with lock.exclusive():   -> exclusive
        LockService fileLocks = FileLockService.create(FileLockConfig.builder().lockDirectory(lockDir).build());
        Mono<Integer> read = fileLocks.withLock("catalog", LockOptions.shared(),
                Mono.fromCallable(readers::incrementAndGet));
        Mono<String> write = fileLocks.withLock("catalog", LockOptions.exclusive(), Mono.just("rebuilt"));
        // works across processes (POSIX record locks), and inside one JVM waiters queue fairly
        // end::shared-lock[]
        assertThat(Flux.merge(read, read).collectList().block(Duration.ofSeconds(10))).hasSize(2);
        assertThat(write.block(Duration.ofSeconds(10))).isEqualTo("rebuilt");
        fileLocks.disposeLater().block(Duration.ofSeconds(10));
    }

    @Test
    void redissonAndShedLock() {
        InMemoryLockBackend backend = InMemoryLockBackend.create();
        // tag::redisson[]
        // RLock lock = redisson.getLock("orders"); if (lock.tryLock(2, 30, SECONDS)) { try {...} finally { lock.unlock(); } }
        LockService distributed = DistributedLockService.builder(backend)   // PostgresLockBackend / RedisLockBackend
                .lease(Duration.ofSeconds(30))                    // a crashed holder loses the lock after this
                .renewEvery(Duration.ofSeconds(10))               // renewed while held (Redisson's watchdog)
                .build();
        Mono<String> result = distributed.withLock("orders", LockOptions.exclusive().timeout(Duration.ofSeconds(2)),
                handle -> Mono.just("saved with token " + handle.fencingToken()));
        // the owner is the handle, not a thread: release it from any thread, and pass the fencing token on
        // end::redisson[]
        assertThat(result.block(Duration.ofSeconds(10))).startsWith("saved with token ");

        AtomicInteger runs = new AtomicInteger();
        Mono<Void> nightly = nightly(distributed, Mono.fromRunnable(runs::incrementAndGet));
        LockHandle other = distributed.acquire("nightly-report").block(Duration.ofSeconds(10));
        nightly.block(Duration.ofSeconds(10));
        assertThat(runs).hasValue(0);
        other.release().block(Duration.ofSeconds(10));
        nightly.block(Duration.ofSeconds(10));
        assertThat(runs).hasValue(1);
        distributed.disposeLater().block(Duration.ofSeconds(10));
    }

    // tag::shedlock[]
    // @SchedulerLock(name = "nightly-report", lockAtMostFor = "10m")  -> skip when another node runs it
    Mono<Void> nightly(LockService distributed, Mono<Void> report) {
        return distributed.withLockIfFree("nightly-report", report);    // empty when another node runs it;
    }                                                                   // released even when the report fails
    // end::shedlock[]

    @Test
    void shedLockStyleJobThatFailsLeavesTheLockFree() {
        LockService distributed = DistributedLockService.builder(InMemoryLockBackend.create()).build();
        assertThatThrownBy(() -> nightly(distributed, Mono.error(new IllegalStateException("report failed")))
                .block(Duration.ofSeconds(10))).hasMessage("report failed");
        LockHandle next = distributed.tryAcquire("nightly-report").block(Duration.ofSeconds(10));
        assertThat(next).as("the next run on any node gets the lock").isNotNull();
        next.release().block(Duration.ofSeconds(10));
        distributed.disposeLater().block(Duration.ofSeconds(10));
    }
}
