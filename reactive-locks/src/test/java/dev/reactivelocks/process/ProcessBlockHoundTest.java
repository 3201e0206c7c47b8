package dev.reactivelocks.process;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import reactor.blockhound.BlockingOperationError;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import reactor.core.scheduler.Schedulers;
import reactor.test.StepVerifier;

/** BlockHound is installed in every test JVM: any blocking call on a Reactor thread fails these tests. */
class ProcessBlockHoundTest {

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

    @Test
    void blockHoundIsActiveOnReactorThreads() {
        StepVerifier.create(Mono.fromCallable(() -> {
                    Thread.sleep(1);
                    return 1;
                }).subscribeOn(Schedulers.parallel()))
                .expectError(BlockingOperationError.class)
                .verify(WAIT);
    }

    @Test
    void subscribingRequestingAndCancellingFromReactorThreadsNeverBlocks() {
        java.util.List<String> hookThreads = new java.util.concurrent.CopyOnWriteArrayList<>();
        StepVerifier.create(exec.execute(ProcessSpec.command("sh", "-c", "echo hi; echo x >&2")
                                .stdin("ignored")
                                .onStart(h -> hookThreads.add(Thread.currentThread().getName()))
                                .onExit((h, code) -> hookThreads.add(Thread.currentThread().getName()))
                                .build())
                        .subscribeOn(Schedulers.parallel())
                        .publishOn(Schedulers.parallel()))
                .assertNext(r -> assertThat(r.stdoutText()).isEqualTo("hi\n"))
                .verifyComplete();
        assertThat(hookThreads).hasSize(2).allMatch(t -> t.startsWith("reactive-locks-process-blocking-"));

        StepVerifier.create(exec.stream(ProcessSpec.command("seq", "1", "2000").build())
                        .subscribeOn(Schedulers.parallel())
                        .publishOn(Schedulers.parallel(), 1)
                        .map(ProcessOutput::text)
                        .last())
                .expectNext("2000")
                .expectComplete()
                .verify(WAIT);

        StepVerifier.create(exec.stream(ProcessSpec.command("sleep", "100").build())
                        .subscribeOn(Schedulers.parallel())
                        .timeout(Duration.ofMillis(100), Schedulers.parallel())
                        .onErrorResume(java.util.concurrent.TimeoutException.class, e -> Flux.empty()))
                .expectComplete()
                .verify(WAIT);

        StepVerifier.create(exec.execute(ProcessSpec.command("sh", "-c", "exit 3").attempts(2)
                                .retryDelay(Duration.ofMillis(1)).build())
                        .subscribeOn(Schedulers.parallel()))
                .expectError(ProcessExecutionException.class)
                .verify(WAIT);
    }
}
