package dev.reactivelocks.process;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import reactor.core.publisher.Flux;
import reactor.test.StepVerifier;

class ProcessStreamTest {

    static final Duration WAIT = Duration.ofSeconds(20);
    static ProcessExecutor exec;

    @BeforeAll
    static void createExecutor() {
        exec = ProcessExecutor.create();
    }

    @AfterAll
    static void disposeExecutor() {
        exec.disposeLater().block(WAIT);
    }

    static List<String> lines(ProcessSpec spec) {
        return exec.stream(spec).map(o -> o.source() + ":" + o.text()).collectList().block(WAIT);
    }

    @Test
    void linesAreTaggedAndKeepTheirOrderWithinEachStream() {
        List<String> lines = lines(ProcessSpec.command("sh", "-c",
                "i=0; while [ $i -lt 200 ]; do echo out$i; echo err$i >&2; i=$((i+1)); done").build());

        List<String> out = new ArrayList<>();
        List<String> err = new ArrayList<>();
        for (String line : lines) {
            (line.startsWith("STDOUT:") ? out : err).add(line);
        }
        assertThat(out).hasSize(200);
        assertThat(err).hasSize(200);
        for (int i = 0; i < 200; i++) {
            assertThat(out.get(i)).isEqualTo("STDOUT:out" + i);
            assertThat(err.get(i)).isEqualTo("STDERR:err" + i);
        }
    }

    @Test
    void linesHandleCrlfMissingFinalNewlineAndMalformedBytes() {
        List<String> lines = lines(ProcessSpec.command("printf", "a\\r\\nb\\n\\nc\\377d\\r\\rx\\ntail").build());
        assertThat(lines).containsExactly("STDOUT:a", "STDOUT:b", "STDOUT:", "STDOUT:c\uFFFDd\r\rx", "STDOUT:tail");
    }

    @Test
    void crlfSplitAcrossReadsIsStillOneTerminator() {
        // the \r and the \n arrive in different writes (and reads)
        List<String> lines = lines(ProcessSpec.command("sh", "-c", "printf 'one\\r'; sleep 0.1; printf '\\ntwo\\n'").build());
        assertThat(lines).containsExactly("STDOUT:one", "STDOUT:two");
    }

    @Test
    void veryLongLinesAreCutIntoPiecesOfAtMostMaxLineLength() {
        // 1000 × "é" (2 bytes each) with a 301-byte limit: pieces must not split a character
        List<byte[]> pieces = exec.stream(ProcessSpec.command("sh", "-c",
                                "i=0; while [ $i -lt 1000 ]; do printf 'é'; i=$((i+1)); done; echo; echo short")
                        .maxLineLength(301).build())
                .map(ProcessOutput::bytes).collectList().block(WAIT);
        assertThat(pieces).isNotNull();
        StringBuilder joined = new StringBuilder();
        for (int i = 0; i < pieces.size() - 1; i++) {
            assertThat(pieces.get(i).length).isLessThanOrEqualTo(301);
            String text = new String(pieces.get(i), java.nio.charset.StandardCharsets.UTF_8);
            assertThat(text).doesNotContain("\uFFFD");
            joined.append(text);
        }
        assertThat(joined.toString()).isEqualTo("é".repeat(1000));
        assertThat(new String(pieces.get(pieces.size() - 1), java.nio.charset.StandardCharsets.UTF_8)).isEqualTo("short");
    }

    @Test
    void chunksGiveTheExactBytes() {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        exec.stream(ProcessSpec.command("head", "-c", "1000000", "/dev/urandom").outputMode(OutputMode.CHUNKS).build())
                .doOnNext(o -> out.writeBytes(o.bytes()))
                .blockLast(WAIT);
        assertThat(out.size()).isEqualTo(1_000_000);

        List<Byte> bytes = new ArrayList<>();
        exec.stream(ProcessSpec.command("printf", "\\000\\001\\377\\r\\n").outputMode(OutputMode.CHUNKS).build())
                .doOnNext(o -> {
                    for (byte b : o.bytes()) {
                        bytes.add(b);
                    }
                })
                .blockLast(WAIT);
        assertThat(bytes).containsExactly((byte) 0, (byte) 1, (byte) 0xff, (byte) '\r', (byte) '\n');
    }

    @Test
    void slowSubscriberLeavesThePipeFullAndTheChildBlockedInWrite() throws Exception {
        CountDownLatch started = new CountDownLatch(1);
        AtomicLong pid = new AtomicLong();
        AtomicLong received = new AtomicLong();
        ProcessSpec spec = ProcessSpec.command("head", "-c", "20000000", "/dev/zero")
                .outputMode(OutputMode.CHUNKS)
                .onStart(h -> {
                    pid.set(h.pid());
                    started.countDown();
                })
                .build();

        StepVerifier.create(exec.stream(spec).doOnNext(o -> received.addAndGet(o.size())), 1)
                .expectNextCount(1)
                .then(() -> {
                    try {
                        assertThat(started.await(10, TimeUnit.SECONDS)).isTrue();
                        // nothing reads: the child fills the pipe and sleeps in pipe_write
                        assertThat(Procs.awaitWchan(pid.get(), "pipe_write", Duration.ofSeconds(10))).isTrue();
                        // and stays there: over an observation window it writes no more than the pipe, one
                        // read and a partial chunk (an unbounded reader would have taken megabytes)
                        Thread.sleep(300);
                        assertThat(Procs.bytesWritten(pid.get())).isLessThan(256 * 1024);
                        assertThat(Procs.wchan(pid.get())).endsWith("pipe_write");
                    } catch (InterruptedException | java.io.IOException e) {
                        throw new AssertionError(e);
                    }
                    assertThat(received.get()).isLessThanOrEqualTo(32 * 1024);
                    assertThat(Procs.isDead(pid.get())).isFalse();
                })
                .thenRequest(Long.MAX_VALUE)
                .thenConsumeWhile(o -> true)
                .expectComplete()
                .verify(WAIT);
        assertThat(received.get()).isEqualTo(20_000_000L);
    }

    @Test
    void outputWrittenBeforeExitIsDeliveredAfterTheExit() throws Exception {
        CompletableFuture<ProcessHandle> exited = new CompletableFuture<>();
        AtomicLong received = new AtomicLong();
        // 60 000 bytes fit in the pipe: the child exits before anything is read
        ProcessSpec spec = ProcessSpec.command("head", "-c", "60000", "/dev/zero")
                .outputMode(OutputMode.CHUNKS)
                .onStart(h -> h.onExit().thenAccept(exited::complete))
                .build();

        StepVerifier.create(exec.stream(spec).doOnNext(o -> received.addAndGet(o.size())), 0)
                .then(() -> {
                    try {
                        exited.get(10, TimeUnit.SECONDS);
                    } catch (Exception e) {
                        throw new AssertionError(e);
                    }
                    assertThat(received.get()).isZero();
                })
                .thenRequest(Long.MAX_VALUE)
                .thenConsumeWhile(o -> true)
                .expectComplete()
                .verify(WAIT);
        assertThat(received.get()).isEqualTo(60_000L);
    }

    /**
     * A child that exited within its timeout, but whose subscriber had not taken all of its output when the
     * timeout passed, was killed and failed with a ProcessTimeoutException saying "Exit code: 0", and the
     * rest of its output was lost. The timeout bounds the child's run, from spawn to exit; after the exit,
     * only a wait for descendants that keep a pipe open. When the subscriber asks for the rest, the pipes are
     * read to their end, and a read probing for that end is, for a moment, in progress while the run is past
     * its timeout: that is no pipe held open either (it failed so now and then inside whole-class runs).
     */
    @Test
    void slowSubscriberOfAChildThatExitedInTimeGetsAllItsOutput() {
        CompletableFuture<ProcessHandle> exited = new CompletableFuture<>();
        Duration timeout = Duration.ofSeconds(2); // ample for a child that exits at once, even on a loaded machine
        // 58 893 bytes fit in the pipe, so the child exits at once, but take two reads
        ProcessSpec spec = ProcessSpec.command("seq", "1", "12000")
                .timeout(timeout)
                .onStart(h -> h.onExit().thenAccept(exited::complete))
                .build();

        StepVerifier.create(exec.stream(spec).map(ProcessOutput::text), 1)
                .expectNext("1")
                .then(() -> assertThat(exited).succeedsWithin(WAIT))
                .thenAwait(timeout.plusMillis(300)) // the timeout passes without demand
                .thenRequest(Long.MAX_VALUE)
                .expectNextCount(11_998)
                .expectNext("12000")
                .expectComplete()
                .verify(WAIT);
    }

    /**
     * A run whose child had exited and whose output was all read, but not yet taken by a slow subscriber,
     * was due for its timeout on every pass of its poller once the timeout had passed: the poller never
     * parked and burnt a core until the subscriber took the rest.
     */
    @Test
    void pollerRestsWhileASlowSubscriberHoldsARunPastItsTimeout() {
        CompletableFuture<ProcessHandle> exited = new CompletableFuture<>();
        Duration timeout = Duration.ofSeconds(1);
        Thread poller = ((DefaultProcessExecutor) exec).pollers()[0].thread();
        // 3 893 bytes: one read takes them all, the pipes reach their end, the lines wait for demand
        ProcessSpec spec = ProcessSpec.command("seq", "1", "1000")
                .timeout(timeout)
                .onStart(h -> h.onExit().thenAccept(exited::complete))
                .build();

        StepVerifier.create(exec.stream(spec).map(ProcessOutput::text), 1)
                .expectNext("1")
                .then(() -> assertThat(exited).succeedsWithin(WAIT))
                .thenAwait(timeout.plusMillis(100))
                .then(() -> assertThat(seenParked(poller, 200)).as("the poller parked").isTrue())
                .thenRequest(Long.MAX_VALUE)
                .expectNextCount(998)
                .expectNext("1000")
                .expectComplete()
                .verify(WAIT);
    }

    /** @return whether {@code thread} was seen parked in one of {@code samples} looks, a millisecond apart */
    static boolean seenParked(Thread thread, int samples) {
        for (int i = 0; i < samples; i++) {
            Thread.State state = thread.getState();
            if (state == Thread.State.TIMED_WAITING || state == Thread.State.WAITING) {
                return true;
            }
            try {
                Thread.sleep(1);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new AssertionError(e);
            }
        }
        return false;
    }

    @Test
    void exitIsNotEndOfFileOutputBeforeExitIsNeverLost() {
        // more than a pipe's capacity written right before exit, on both streams
        for (int i = 0; i < 5; i++) {
            long[] sizes = new long[2];
            exec.stream(ProcessSpec.command("sh", "-c", "head -c 150000 /dev/zero; head -c 70001 /dev/zero >&2")
                            .outputMode(OutputMode.CHUNKS).build())
                    .doOnNext(o -> sizes[o.isStdout() ? 0 : 1] += o.size())
                    .blockLast(WAIT);
            assertThat(sizes).containsExactly(150_000L, 70_001L);
        }
    }

    @Test
    void streamCompletesOnlyAfterTheExitCheckAndFailsWithTheTailOfTheOutput() {
        StepVerifier.create(exec.stream(ProcessSpec.command("sh", "-c", "echo one; echo two >&2; exit 3").build()))
                .expectNextCount(2)
                .expectErrorSatisfies(e -> {
                    ProcessExecutionException pe = (ProcessExecutionException) e;
                    assertThat(pe.exitCode()).isEqualTo(3);
                    assertThat(pe.stdout()).isEqualTo("one\n");
                    assertThat(pe.stderr()).isEqualTo("two\n");
                })
                .verify(WAIT);
    }

    @Test
    void streamRespectsRequestOneAtATime() {
        StepVerifier.create(exec.stream(ProcessSpec.command("seq", "1", "5").build()).map(ProcessOutput::text), 0)
                .thenRequest(1).expectNext("1")
                .thenRequest(2).expectNext("2", "3")
                .thenRequest(5).expectNext("4", "5")
                .expectComplete()
                .verify(WAIT);
    }

    @Test
    void retriedStreamEmitsEachAttemptsOutput() {
        List<String> lines = Flux.defer(() -> exec.stream(ProcessSpec.command("sh", "-c", "echo try; exit 1")
                        .attempts(2).retryDelay(Duration.ofMillis(1)).build()))
                .map(ProcessOutput::text)
                .onErrorResume(ProcessExecutionException.class, e -> Flux.just("failed"))
                .collectList().block(WAIT);
        assertThat(lines).containsExactly("try", "try", "failed");
    }

    @Test
    void backgroundDescendantHoldingThePipesDoesNotHoldTheRunPastTheTimeout() {
        // the child exits at once; its background descendant keeps stdout open for 3 s. Normally the JDK
        // closes the pipes at the child's exit and the run completes; in a rare race the run waits for the
        // pipes instead, and the 1 s timeout ends it.
        ProcessSpec spec = ProcessSpec.command("sh", "-c", "echo parent; sleep 3 &")
                .timeout(Duration.ofSeconds(1))
                .build();
        StepVerifier.create(exec.stream(spec).map(ProcessOutput::text)
                        .onErrorResume(ProcessTimeoutException.class, e -> Flux.empty()))
                .expectNext("parent")
                .expectComplete()
                .verify(WAIT);
    }
}
