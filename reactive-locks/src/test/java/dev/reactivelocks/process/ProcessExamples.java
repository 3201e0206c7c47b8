package dev.reactivelocks.process;

import dev.reactivelocks.LockOptions;
import dev.reactivelocks.LockService;
import java.time.Duration;
import reactor.core.publisher.Flux;

/**
 * Small, runnable examples of the process executor, for the README and the docs module (shipped in the core
 * test-jar).
 */
public final class ProcessExamples {

    private ProcessExamples() {
    }

    /**
     * Streams a process's output while holding the lock {@code name}: the process starts only after the
     * grant, the lock is released once it has exited and its output was delivered, and cancelling the
     * returned {@code Flux} kills the process tree and releases the lock.
     *
     * <pre>{@code
     * LockService locks = LockService.inProcess();
     * ProcessExecutor exec = ProcessExecutor.create();
     * ProcessExamples.streamUnderLock(locks, exec, "demo").doOnNext(System.out::println).blockLast();
     * }</pre>
     *
     * @param locks the lock service
     * @param exec the process executor
     * @param name the lock name
     * @return the process's stdout and stderr lines, prefixed with the lock's fencing token
     */
    public static Flux<String> streamUnderLock(LockService locks, ProcessExecutor exec, String name) {
        ProcessSpec spec = ProcessSpec.command("sh", "-c", "for i in 1 2 3; do echo step $i; sleep 0.1; done; echo done >&2")
                .timeout(Duration.ofSeconds(30))
                .build();
        return locks.withLockMany(name, LockOptions.exclusive(), handle -> exec.stream(spec)
                .map(output -> "[token " + handle.fencingToken() + "] " + output.source() + " " + output.text()));
    }
}
