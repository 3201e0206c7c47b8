package dev.reactivelocks.file;

import static org.assertj.core.api.Assertions.assertThat;

import dev.reactivelocks.LockHandle;
import dev.reactivelocks.LockMode;
import dev.reactivelocks.LockOptions;
import dev.reactivelocks.LockTimeoutException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import reactor.core.Disposable;
import reactor.core.publisher.Mono;
import reactor.core.scheduler.Schedulers;
import reactor.test.util.RaceTestUtils;

/**
 * Grants, cancellations, timeouts and releases racing on one lock file, with idle channels kept open (the
 * default) and closed with their last user (so that closing races with reopening): afterwards the lock is
 * free, no holder overlapped an exclusive one, and once the service is disposed the JVM holds no channel
 * (no descriptor) for the file.
 */
class FileLockRaceTest {

    private static final Duration WAIT = Duration.ofSeconds(30);

    @TempDir
    Path tmp;

    private FileLockService locks;

    @AfterEach
    void tearDown() {
        if (locks != null) {
            locks.disposeLater().block(WAIT);
        }
    }

    @Test
    void cancelTimeoutAndReleaseRacesLeaveTheFileFreeAndClosed() {
        races(300, FileLockConfig.DEFAULT_CHANNEL_IDLE_TIMEOUT);
    }

    @Test
    @Tag("loops")
    void cancelTimeoutAndReleaseRacesLeaveTheFileFreeAndClosed_loop() {
        races(20_000, FileLockConfig.DEFAULT_CHANNEL_IDLE_TIMEOUT);
    }

    @Test
    void racesWithChannelsClosedByTheirLastUserLeaveTheFileFreeAndClosed() {
        races(300, Duration.ZERO);
    }

    @Test
    @Tag("loops")
    void racesWithChannelsClosedByTheirLastUserLeaveTheFileFreeAndClosed_loop() {
        races(20_000, Duration.ZERO);
    }

    @Test
    void cancelRacingAGrantMadeOnTheReleasingThreadLeaksNothing() {
        cancelRacingGrant(300);
    }

    @Test
    @Tag("loops")
    void cancelRacingAGrantMadeOnTheReleasingThreadLeaksNothing_loop() {
        cancelRacingGrant(20_000);
    }

    /** A waiter is cancelled while the holder's release grants it, both on threads that lock files inline. */
    private void cancelRacingGrant(int iterations) {
        locks = FileLockService.create(FileLockConfig.builder().lockDirectory(tmp.resolve("locks")).build());
        AtomicInteger granted = new AtomicInteger();
        for (int i = 0; i < iterations; i++) {
            LockHandle holder = locks.acquire("grant").block(WAIT);
            Disposable waiter = locks.acquire("grant").subscribe(h -> {
                granted.incrementAndGet();
                h.release().subscribe();
            });
            RaceTestUtils.race(() -> holder.release().subscribe(), waiter::dispose);
            LockHandle next = locks.acquire("grant", LockOptions.exclusive().timeout(WAIT)).block(WAIT);
            assertThat(next.isHeld()).isTrue();
            next.release().block(WAIT);
        }
        assertDisposedServiceLeavesNothingOpen(tmp.resolve("locks").resolve("grant"));
    }

    private void assertDisposedServiceLeavesNothingOpen(Path file) {
        locks.disposeLater().block(WAIT);
        FileLockServiceTest.await(() -> LockFileRegistry.openEntries() == 0
                && (!Files.isDirectory(Path.of("/proc/self/fd")) || FileLockChannelReuseTest.descriptorsOf(file) == 0),
                "no entry and no descriptor left for " + file);
    }

    private void races(int iterations, Duration idleTimeout) {
        locks = FileLockService.create(FileLockConfig.builder().lockDirectory(tmp.resolve("locks"))
                .channelIdleTimeout(idleTimeout).build());
        AtomicInteger exclusiveInside = new AtomicInteger();
        AtomicInteger sharedInside = new AtomicInteger();
        AtomicInteger overlaps = new AtomicInteger();
        List<Disposable> subscriptions = new ArrayList<>();
        for (int i = 0; i < iterations; i++) {
            ThreadLocalRandom random = ThreadLocalRandom.current();
            LockMode mode = random.nextInt(3) == 0 ? LockMode.EXCLUSIVE : LockMode.SHARED;
            LockOptions options = LockOptions.of(mode);
            if (random.nextBoolean()) {
                options = options.timeout(Duration.ofMillis(random.nextInt(3)));
            }
            Mono<Integer> body = Mono.fromCallable(() -> {
                if (mode == LockMode.EXCLUSIVE) {
                    if (exclusiveInside.incrementAndGet() != 1 || sharedInside.get() != 0) {
                        overlaps.incrementAndGet();
                    }
                    exclusiveInside.decrementAndGet();
                } else {
                    sharedInside.incrementAndGet();
                    if (exclusiveInside.get() != 0) {
                        overlaps.incrementAndGet();
                    }
                    sharedInside.decrementAndGet();
                }
                return 1;
            }).subscribeOn(Schedulers.parallel());
            Disposable d = locks.withLock("race", options, body)
                    .onErrorResume(LockTimeoutException.class, e -> Mono.just(0))
                    .subscribe();
            if (random.nextBoolean()) {
                RaceTestUtils.race(d::dispose, () -> locks.tryAcquire("race")
                        .flatMap(LockHandle::release).subscribe());
            } else {
                subscriptions.add(d);
            }
        }
        LockHandle last = locks.acquire("race", LockOptions.exclusive().timeout(WAIT)).block(WAIT);
        assertThat(last).isNotNull();
        assertThat(overlaps).hasValue(0);
        last.release().block(WAIT);
        subscriptions.forEach(Disposable::dispose);
        assertDisposedServiceLeavesNothingOpen(tmp.resolve("locks").resolve("race"));
    }
}
