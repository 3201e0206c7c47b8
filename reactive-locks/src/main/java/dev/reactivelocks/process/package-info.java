/**
 * Reactive execution of external processes: {@link dev.reactivelocks.process.ProcessExecutor} runs an
 * immutable {@link dev.reactivelocks.process.ProcessSpec} as a cold {@code Mono<ProcessResult>} or as a
 * {@code Flux<ProcessOutput>} of stdout/stderr lines or chunks with real backpressure, on a fixed, small set
 * of library-owned threads. Failures follow oslo.concurrency's {@code processutils.execute} (exit-code
 * policy, retries, secret masking, resource limits), while timeouts and cancellation kill the child's whole
 * process group. Running a process under a lock is plain composition:
 *
 * <pre>{@code
 * ProcessExecutor exec = ProcessExecutor.create();
 * ProcessSpec spec = ProcessSpec.command("sh", "-c", "echo migrating; ./migrate.sh").timeout(Duration.ofMinutes(5)).build();
 * Flux<String> log = locks.withLockMany("schema", LockOptions.exclusive(),
 *         handle -> exec.stream(spec).map(ProcessOutput::text));   // starts after the grant, released at exit
 * }</pre>
 */
@NullMarked
package dev.reactivelocks.process;

import org.jspecify.annotations.NullMarked;
