package dev.reactivelocks.docs;

import static org.assertj.core.api.Assertions.assertThat;

import dev.reactivelocks.LockHandle;
import dev.reactivelocks.LockOptions;
import dev.reactivelocks.LockService;
import dev.reactivelocks.file.FileLockConfig;
import dev.reactivelocks.file.FileLockService;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeoutException;
import java.util.function.Function;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import reactor.test.StepVerifier;

/** The samples of file-locks.adoc, executed. */
class FileLockExamples {

    private static final Duration WAIT = Duration.ofSeconds(10);

    @TempDir
    Path lockDir;

    private FileLockService fileLocks;

    @BeforeEach
    void create() {
        fileLocks = FileLockService.create(FileLockConfig.builder().lockDirectory(lockDir).build());
    }

    @AfterEach
    void dispose() {
        fileLocks.disposeLater().block(WAIT);
    }

    // tag::file-semaphore[]
    /** At most {@code slots} holders across every process: one lock file per slot, the first free one wins. */
    static Mono<LockHandle> slot(LockService fileLocks, String name, int slots, Duration timeout) {
        return Flux.range(0, slots)
                .concatMap(i -> fileLocks.tryAcquire(name + "." + i))   // never waits: empty when busy
                .next()                                                 // the first free slot, if any
                .repeatWhenEmpty(busy -> busy.delayElements(Duration.ofMillis(20))) // all busy: look again
                .timeout(timeout);
    }

    static <T> Mono<T> withSlot(LockService fileLocks, String name, int slots, Function<LockHandle, Mono<T>> body) {
        return Mono.usingWhen(slot(fileLocks, name, slots, Duration.ofSeconds(30)), body, LockHandle::release);
    }
    // end::file-semaphore[]

    @Test
    void aFourthEncoderWaitsForOneOfThreeSlots() throws Exception {
        List<LockHandle> held = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            held.add(slot(fileLocks, "encoder", 3, WAIT).block(WAIT));
        }
        assertThat(held).extracting(LockHandle::name).containsExactly("encoder.0", "encoder.1", "encoder.2");
        StepVerifier.create(slot(fileLocks, "encoder", 3, Duration.ofMillis(100)))
                .expectError(TimeoutException.class)
                .verify(WAIT);

        Mono<String> fourth = withSlot(fileLocks, "encoder", 3, h -> Mono.just("encoded in " + h.name()));
        StepVerifier.create(fourth)
                .then(() -> held.get(1).release().block(WAIT))
                .expectNext("encoded in encoder.1")
                .verifyComplete();
        for (LockHandle h : held) {
            h.release().block(WAIT);
        }
        try (var files = Files.list(lockDir)) {
            assertThat(files.map(p -> p.getFileName().toString()).filter(n -> n.startsWith("encoder")))
                    .containsExactlyInAnyOrder("encoder.0", "encoder.1", "encoder.2");
        }
    }

    @Test
    void namesAreTheFilesOsloLocks() {
        // tag::oslo-names[]
        FileLockConfig config = FileLockConfig.builder().lockDirectory(Path.of("/var/lib/nova/locks")).build();
        config.lockFile("instances/42");   // /var/lib/nova/locks/instances_42, as lockutils.lock('instances/42')
        config.lockFile("/abs");           // /var/lib/nova/locks/_abs
        config.lockFile("x/../y");         // /var/lib/nova/locks/x_.._y: never outside the lock directory
        // config.lockFile("..")           // IllegalArgumentException: names no file in the lock directory
        // end::oslo-names[]
        assertThat(config.lockFile("instances/42")).isEqualTo(Path.of("/var/lib/nova/locks/instances_42"));
        assertThat(config.lockFile("/abs")).isEqualTo(Path.of("/var/lib/nova/locks/_abs"));
        assertThat(config.lockFile("x/../y")).isEqualTo(Path.of("/var/lib/nova/locks/x_.._y"));
    }

    @Test
    void fencingTokensRiseAcrossGrants() {
        // tag::file-fencing[]
        Mono<Long> token = fileLocks.withLock("ledger", LockOptions.exclusive(),
                handle -> Mono.just(handle.fencingToken()));   // larger than every earlier grant, in any JVM
        // end::file-fencing[]
        long first = token.block(WAIT);
        assertThat(token.block(WAIT)).isGreaterThan(first);
        assertThat(lockDir.resolve(".reactive-locks-fencing").resolve("ledger")).isRegularFile();
    }

    @Test
    void downgradeLetsReadersJoinButNoWriter() {
        Path index = lockDir.resolve("index.json");
        // tag::file-downgrade[]
        Mono<LockHandle> reading = fileLocks.acquire("index")                             // exclusive
                .flatMap(writer -> Mono.fromCallable(() -> Files.writeString(index, "{\"entries\": 3}"))
                        .then(writer.downgrade()));   // shared now, and no other process's writer got in between
        // end::file-downgrade[]
        LockHandle reader = reading.block(WAIT);
        LockHandle another = fileLocks.tryAcquire("index", LockOptions.shared()).block(WAIT);
        assertThat(another).as("a reader joins").isNotNull();
        StepVerifier.create(fileLocks.tryAcquire("index")).as("a writer does not").verifyComplete();
        another.release().block(WAIT);
        reader.release().block(WAIT);
        StepVerifier.create(fileLocks.tryAcquire("index").flatMap(h -> h.release().thenReturn("free again")))
                .expectNext("free again").verifyComplete();
    }
}
