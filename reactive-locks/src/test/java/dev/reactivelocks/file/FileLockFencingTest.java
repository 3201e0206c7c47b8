package dev.reactivelocks.file;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.reactivelocks.LockException;
import dev.reactivelocks.LockHandle;
import dev.reactivelocks.LockOptions;
import dev.reactivelocks.testkit.contract.FileLockChildMain;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import reactor.core.publisher.Mono;
import reactor.test.StepVerifier;

/**
 * Fencing tokens of file locks are strictly increasing across processes: every JVM using the lock directory
 * takes them from the lock file's counter ({@link FencingCounter}), shared grants included.
 */
class FileLockFencingTest {

    private static final Duration WAIT = Duration.ofSeconds(20);

    @RegisterExtension
    final FileLockFixture fixture = new FileLockFixture();

    private long childToken(String name, String mode) throws Exception {
        try (ChildProcess child = ChildProcess.java(FileLockChildMain.class, "hold", fixture.dir().toString(), name,
                mode)) {
            String locked = child.nextLine(WAIT);
            assertThat(locked).startsWith("LOCKED ");
            child.send("release");
            assertThat(child.nextLine(WAIT)).isEqualTo("RELEASED");
            assertThat(child.waitFor(WAIT)).as("child exit; stderr: %s", child.stderr()).isZero();
            return Long.parseLong(locked.substring("LOCKED ".length()));
        }
    }

    private long ourToken(String name) {
        LockHandle h = fixture.locks().acquire(name).block(WAIT);
        long token = h.fencingToken();
        h.release().block(WAIT);
        return token;
    }

    @Test
    void tokensOfThisJvmAndAChildJvmTakingTurnsStrictlyIncrease() throws Exception {
        List<Long> tokens = new ArrayList<>();
        tokens.add(ourToken("jobs/nightly"));
        tokens.add(childToken("jobs/nightly", "EXCLUSIVE"));
        tokens.add(ourToken("jobs/nightly"));
        tokens.add(childToken("jobs/nightly", "EXCLUSIVE"));
        tokens.add(ourToken("jobs/nightly"));
        assertThat(tokens).isSorted().doesNotHaveDuplicates();
        assertThat(tokens.get(0)).as("at least the wall clock in microseconds")
                .isGreaterThanOrEqualTo(ChronoUnit.MICROS.between(Instant.EPOCH, Instant.now()) - 60_000_000L);
        assertThat(Files.size(fixture.dir().resolve("jobs_nightly"))).as("the lock file stays untouched").isZero();
        assertThat(counterFileValue("jobs_nightly")).isEqualTo(tokens.get(4));
    }

    /** Three JVMs contend; each appends its token to one log while holding the lock, so the log is grant order. */
    @Test
    void underContentionTheTokensOfThreeJvmsIncreaseInGrantOrder() throws Exception {
        Path log = fixture.tmp().resolve("tokens.log");
        int each = 200;
        ChildProcess.together(2, i -> ChildProcess.java(FileLockChildMain.class, "tokens", fixture.dir().toString(),
                "ledger", log.toString(), Integer.toString(each)), () -> {
                    for (int i = 0; i < each; i++) {
                        fixture.locks().withLock("ledger", LockOptions.exclusive(), h -> Mono.<Void>fromRunnable(
                                () -> FileLockChildMain.appendToken(log, h.fencingToken()))).block(WAIT);
                    }
                    return null;
                });
        List<Long> tokens = Files.readAllLines(log, StandardCharsets.US_ASCII).stream().map(Long::parseLong).toList();
        assertThat(tokens).hasSize(3 * each).isSorted().doesNotHaveDuplicates();
    }

    @Test
    void sharedHoldersOfTwoJvmsHoldTogetherEachWithItsOwnLargerToken() throws Exception {
        try (ChildProcess child = ChildProcess.java(FileLockChildMain.class, "hold", fixture.dir().toString(), "report",
                "SHARED")) {
            String locked = child.nextLine(WAIT);
            long childToken = Long.parseLong(locked.substring("LOCKED ".length()));
            LockHandle first = fixture.locks().acquire("report", LockOptions.shared().timeout(WAIT)).block(WAIT);
            LockHandle second = fixture.locks().acquire("report", LockOptions.shared().timeout(WAIT)).block(WAIT);
            assertThat(first.isHeld()).isTrue();
            assertThat(second.isHeld()).isTrue();
            assertThat(child.lineNow()).as("the child still holds it").isNull();
            assertThat(List.of(childToken, first.fencingToken(), second.fencingToken())).isSorted()
                    .doesNotHaveDuplicates();
            StepVerifier.create(fixture.locks().tryAcquire("report")).expectComplete().verify(WAIT);
            first.release().block(WAIT);
            second.release().block(WAIT);
            child.send("release");
            assertThat(child.nextLine(WAIT)).isEqualTo("RELEASED");
            assertThat(ourToken("report")).isGreaterThan(second.fencingToken());
        }
    }

    @Test
    void twoMappingsOfOneCounterNeverIssueATokenTwice() throws Exception {
        Files.createDirectories(fixture.dir());
        Path lockFile = fixture.dir().resolve("c");
        FencingCounter one = FencingCounter.open(lockFile);
        FencingCounter other = FencingCounter.open(lockFile); // as a second process maps it
        List<Set<Long>> issued = new CopyOnWriteArrayList<>();
        List<CompletableFuture<Void>> racers = new ArrayList<>();
        ExecutorService pool = Executors.newFixedThreadPool(4);
        for (FencingCounter counter : List.of(one, other, one, other)) {
            racers.add(CompletableFuture.runAsync(() -> {
                Set<Long> mine = new HashSet<>();
                long previous = 0;
                for (int i = 0; i < 20_000; i++) {
                    long token = counter.next();
                    assertThat(token).isGreaterThan(previous);
                    previous = token;
                    mine.add(token);
                }
                issued.add(mine);
            }, pool));
        }
        try {
            CompletableFuture.allOf(racers.toArray(CompletableFuture[]::new)).get();
        } finally {
            pool.shutdown();
        }
        Set<Long> all = new HashSet<>();
        issued.forEach(all::addAll);
        assertThat(all).hasSize(4 * 20_000);
        assertThat(one.last()).isEqualTo(other.last()).isEqualTo(all.stream().mapToLong(Long::longValue).max()
                .orElseThrow());
    }

    @Test
    void aCounterAheadOfTheClockGoesOnFromItsValueAndAShortFileStartsAtTheClock() throws Exception {
        Files.createDirectories(fixture.dir().resolve(FencingCounter.DIRECTORY));
        long future = Long.MAX_VALUE / 2;
        Files.write(fixture.dir().resolve(FencingCounter.DIRECTORY).resolve("ahead"),
                ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(future).array());
        assertThat(ourToken("ahead")).isEqualTo(future + 1);
        assertThat(ourToken("ahead")).isEqualTo(future + 2);

        Files.write(fixture.dir().resolve(FencingCounter.DIRECTORY).resolve("short"), new byte[] {7, 7, 7});
        long before = ChronoUnit.MICROS.between(Instant.EPOCH, Instant.now());
        assertThat(ourToken("short")).isGreaterThanOrEqualTo(before);
        assertThat(Files.size(fixture.dir().resolve(FencingCounter.DIRECTORY).resolve("short"))).isEqualTo(8);
    }

    @Test
    void removingALockFileRemovesItsCounterAndLaterTokensAreStillLarger() throws Exception {
        long first = ourToken("gone");
        FileLockServiceTest.await(() -> LockFileRegistry.openEntries() == 0, "idle channel closed");
        assertThat(FileLockService.removeLockFile(fixture.locks().config(), "gone").block(WAIT)).isTrue();
        assertThat(fixture.dir().resolve(FencingCounter.DIRECTORY).resolve("gone")).doesNotExist();
        assertThat(ourToken("gone")).isGreaterThan(first);
    }

    @Test
    void aCounterThatCannotBeOpenedFailsTheAcquisitionNamingIt() throws Exception {
        Files.createDirectories(fixture.dir().resolve(FencingCounter.DIRECTORY));
        Path target = Files.writeString(fixture.tmp().resolve("elsewhere"), "");
        Files.createSymbolicLink(fixture.dir().resolve(FencingCounter.DIRECTORY).resolve("linked"), target);
        StepVerifier.create(fixture.locks().acquire("linked"))
                .expectErrorSatisfies(e -> assertThat(e).isInstanceOf(LockException.class)
                        .hasMessageContaining("Cannot open the fencing token counter '"))
                .verify(WAIT);
        assertThat(Files.size(target)).isZero();
        assertThatThrownBy(() -> FencingCounter.open(fixture.dir().resolve("linked")))
                .hasMessageContaining(FencingCounter.DIRECTORY + "/linked");
    }

    private long counterFileValue(String fileName) throws Exception {
        byte[] bytes = Files.readAllBytes(fixture.dir().resolve(FencingCounter.DIRECTORY).resolve(fileName));
        return ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN).getLong();
    }
}
