package dev.reactivelocks.process;

import reactor.core.Disposable;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;

/**
 * Runs {@link ProcessSpec}s as cold publishers on a fixed, small set of library-owned threads.
 *
 * <pre>{@code
 * ProcessExecutor exec = ProcessExecutor.create();
 * Mono<ProcessResult> result = exec.execute(ProcessSpec.command("git", "rev-parse", "HEAD").build());
 * Flux<String> lines = exec.stream(ProcessSpec.command("tail", "-n", "100", "app.log").build())
 *         .map(ProcessOutput::text);
 * }</pre>
 *
 * <p><b>Cold</b>: nothing happens until subscription; each subscription is one run of the spec, made of up
 * to {@link ProcessSpec#attempts()} attempts.
 *
 * <p><b>Backpressure</b>: a pipe is read only while the subscriber of {@link #stream(ProcessSpec)} has
 * outstanding demand, so a slow subscriber leaves the pipe full and the child blocks in {@code write};
 * nothing is buffered beyond one read (32 KiB) and one partial line per pipe.
 *
 * <p><b>Exit and output</b>: the exit status comes from the process exit, and everything the child wrote
 * before it exited is delivered. A run ends when the child has exited and both pipes reached end of file.
 * When the child exits, the JDK drains what is left in its pipes into memory and closes them, so output that
 * descendants write after the child's exit is normally not delivered (and they get {@code EPIPE}); in rare
 * races the run instead waits until those descendants close the pipes, bounded by the spec's timeout (or
 * 200 ms after that wait began, whichever is later). A slow subscriber never makes a child that exited in
 * time time out: what the child wrote waits for demand.
 *
 * <p><b>Cancellation and timeouts</b>: cancelling the subscription, the spec's timeout,
 * {@link #dispose()} and {@link ProcessSpec.Builder#maxOutput(long) too much output} kill the child and
 * its descendants. Exactly these receive SIGTERM, then SIGKILL after the kill grace (and SIGKILL as soon
 * as the child has been reaped):
 * <ul>
 *   <li>the child's process group: the child is started as the leader of its own session and group
 *       (util-linux {@code setsid}), so this is every descendant that did not move to another group;
 *       without {@code setsid} and {@code kill} on the {@code PATH}, the child and the descendants the JDK
 *       can see instead;</li>
 *   <li>on Linux, every process of the same user that carries the run's marker variable
 *       {@code REACTIVE_LOCKS_RUN} in its initial environment: descendants that left the group and the
 *       tree, such as a daemon that double-forked and called {@code setsid}.</li>
 * </ul>
 * Not reached: a descendant that left the group <em>and</em> runs as another user or was started with a
 * scrubbed environment ({@code env -i}, {@code sudo}'s {@code env_reset}, so typically what a
 * {@linkplain ProcessSpec.Builder#rootHelper(String) root helper} starts). Errors and completion are
 * signalled only after the child has been reaped and the signals were sent.
 *
 * <p><b>Threading</b>: outputs are emitted on a poller thread named {@code reactive-locks-process-poller-N}
 * shared by many runs: move heavy work elsewhere with {@code publishOn}. Spawning, signals, hooks and
 * terminal signals run on a bounded pool of threads named {@code reactive-locks-process-blocking-N}; stdin
 * writes, which block while the child does not read, on a second pool of the same cap, threads named
 * {@code reactive-locks-process-stdin-N}, so that they never delay a kill. No Reactor thread is ever
 * blocked. All threads are daemons and stop when the executor is disposed. The JDK itself keeps one small
 * "process reaper" thread per live child.
 *
 * <p><b>Locks</b>: {@code lockService.withLock(name, exec.execute(spec))} starts the process only after the
 * grant (the {@code Mono} is cold) and releases the lock after the process has exited and its result or
 * error was signalled. When the subscription is cancelled, {@code withLock} keeps the lock until the killed
 * child was reaped (the run registers its kill with the scope's cleanup barrier), so the next holder never
 * overlaps a dying child; the kill takes at most the kill grace. A run bounded by
 * {@link ProcessSpec.Builder#timeout(java.time.Duration) a timeout} likewise signals its timeout only after
 * the child was reaped. {@code ProcessExamples.streamUnderLock} in the test-jar shows a streamed run under a
 * lock.
 */
public interface ProcessExecutor extends Disposable {

    /** @return an executor with one poller thread and up to 16 blocking threads (and 16 stdin writers) */
    static ProcessExecutor create() {
        return builder().build();
    }

    /** @return a builder for an executor with custom thread counts */
    static Builder builder() {
        return new Builder();
    }

    /**
     * Runs {@code spec} and collects its whole output.
     *
     * <p>Per subscription, the returned {@code Mono}:
     * <ul>
     *   <li>emits the {@link ProcessResult} when the child exited with an accepted code;</li>
     *   <li>errors with {@link ProcessExecutionException} when the last attempt exited with another code or
     *       could not be started (after {@code attempts - 1} retries, uniformly random pauses between);</li>
     *   <li>errors with {@link ProcessExecutionException} when stdout and stderr together exceeded
     *       {@link ProcessSpec#maxOutput()} (64 MiB unless set): the process group was killed and the
     *       exception names the limit; the output never grows past it, so a huge output cannot exhaust the
     *       memory of the poller thread shared with other runs;</li>
     *   <li>errors with {@link ProcessTimeoutException} when an attempt timed out (not retried);</li>
     *   <li>errors with the error of the {@link ProcessSpec.Builder#stdin(org.reactivestreams.Publisher) stdin
     *       publisher} when it failed: the process group was killed first (not retried);</li>
     *   <li>errors with {@link IllegalStateException} when the spec has limits and {@code prlimit} is
     *       missing, or when the executor is or gets disposed;</li>
     *   <li>on cancellation kills the process tree.</li>
     * </ul>
     *
     * @param spec what to run
     * @return a cold {@code Mono} of the result
     */
    Mono<ProcessResult> execute(ProcessSpec spec);

    /**
     * Runs {@code spec} and emits its stdout and stderr as they are produced, cut as the spec's
     * {@link ProcessSpec#outputMode() output mode} says, in order within each stream. Completes after the
     * exit-code check passed; errors as {@link #execute(ProcessSpec)} does, the exceptions then holding the
     * last 64 KiB of each stream. With several attempts, the output of failed attempts has been emitted
     * before the next attempt starts.
     *
     * @param spec what to run
     * @return a cold {@code Flux} of outputs
     */
    Flux<ProcessOutput> stream(ProcessSpec spec);

    /**
     * Kills every running child (their runs error with {@link IllegalStateException}), rejects new runs
     * and stops the executor's threads once the last child has been reaped.
     *
     * @return a {@code Mono} completing when the executor has stopped
     */
    Mono<Void> disposeLater();

    /** Same as {@code disposeLater().subscribe()}. */
    @Override
    default void dispose() {
        disposeLater().subscribe();
    }

    /** Configures a {@link ProcessExecutor}. Not thread-safe. */
    final class Builder {

        int pollerThreads = 1;
        int blockingThreads = 16;

        Builder() {
        }

        /**
         * @param threads how many poller threads read pipes and watch exits; each run stays on one.
         *     Defaults to 1, which serves hundreds of children.
         * @return this builder
         */
        public Builder pollerThreads(int threads) {
            if (threads < 1) {
                throw new IllegalArgumentException("pollerThreads must be >= 1, was " + threads);
            }
            this.pollerThreads = threads;
            return this;
        }

        /**
         * @param threads the cap of the pool that spawns children, probes EOF and sends signals, and of
         *     the pool that writes stdin. Defaults to 16.
         * @return this builder
         */
        public Builder blockingThreads(int threads) {
            if (threads < 1) {
                throw new IllegalArgumentException("blockingThreads must be >= 1, was " + threads);
            }
            this.blockingThreads = threads;
            return this;
        }

        /** @return a new executor; its threads start now */
        public ProcessExecutor build() {
            return new DefaultProcessExecutor(pollerThreads, blockingThreads, null);
        }
    }
}
