package dev.reactivelocks;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.HashSet;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.Test;
import reactor.core.publisher.Mono;
import reactor.core.scheduler.Schedulers;

/**
 * The clock of uncontended holds: exact while stale, refreshed each tick while read, never ahead of the
 * wall clock, and its refresh thread parks and ends when nobody reads it.
 */
class CoarseClockTest {

    private static final long TICK = TimeUnit.MILLISECONDS.toNanos(5);

    @Test
    void aStaleClockReadsTheWallClock() {
        CoarseClock clock = new CoarseClock(TICK, TimeUnit.SECONDS.toNanos(60));
        assertThat(clock.stale()).isTrue();
        for (int i = 0; i < CoarseClock.STALE_READS_PER_WAKE - 1; i++) {
            long before = System.currentTimeMillis();
            long read = clock.millis();
            assertThat(read).isBetween(before, System.currentTimeMillis());
        }
        assertThat(clock.ticking()).as("fewer reads than a wake-up takes start no thread").isFalse();
    }

    @Test
    void whileReadTheValueFollowsTheWallClockTickByTickAndIsNeverAhead() {
        CoarseClock clock = new CoarseClock(TICK, TimeUnit.SECONDS.toNanos(60));
        awaitTrue(() -> readAndFresh(clock), "the refresh thread's first tick");
        Set<Long> seen = new HashSet<>();
        long end = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(300);
        while (System.nanoTime() < end) {
            long before = System.currentTimeMillis();
            long read = clock.millis();
            long after = System.currentTimeMillis();
            assertThat(read).as("never ahead of the wall clock").isLessThanOrEqualTo(after);
            assertThat(read).as("a refresh old at most (a generous bound for a loaded machine)")
                    .isGreaterThan(before - 1_000);
            seen.add(read);
        }
        // 300 ms of 5 ms ticks: about 60 values; a handful proves the value moves while it is read
        assertThat(seen).hasSizeGreaterThan(5);
    }

    @Test
    void aClockNobodyReadsGoesStaleAndItsThreadEndsThenAWakeUpStartsAnother() {
        CoarseClock clock = new CoarseClock(TICK, TimeUnit.MILLISECONDS.toNanos(100));
        awaitTrue(() -> readAndFresh(clock), "the refresh thread's first tick");
        awaitTrue(clock::stale, "stale after a tick without reads");
        long before = System.currentTimeMillis();
        assertThat(clock.millis()).as("a stale read is the wall clock").isBetween(before, System.currentTimeMillis());
        awaitTrue(() -> !clock.ticking(), "the refresh thread ends after the idle period");
        assertThat(refreshThreads()).allMatch(Thread::isDaemon);

        awaitTrue(() -> readAndFresh(clock), "a new refresh thread ticks");
        assertThat(clock.ticking()).isTrue();
    }

    @Test
    void aReaderOnANonBlockingThreadStartsTheRefreshThreadWithoutBlocking() {
        CoarseClock clock = new CoarseClock(TICK, TimeUnit.SECONDS.toNanos(60));
        // BlockHound (installed for every test) fails this if starting or waking the thread blocked
        Mono.fromRunnable(() -> {
            for (int i = 0; i < CoarseClock.STALE_READS_PER_WAKE; i++) {
                clock.millis();
            }
        }).subscribeOn(Schedulers.parallel()).block(Duration.ofSeconds(10));
        assertThat(clock.ticking()).isTrue();
    }

    /** Reads the clock (so that it wakes, then stays fresh); whether it is fresh. */
    private static boolean readAndFresh(CoarseClock clock) {
        clock.millis();
        return !clock.stale();
    }

    private static Set<Thread> refreshThreads() {
        Set<Thread> threads = new HashSet<>(Thread.getAllStackTraces().keySet());
        threads.removeIf(t -> !t.getName().equals("reactive-locks-clock"));
        return threads;
    }

    private static void awaitTrue(BooleanSupplier condition, String what) {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (!condition.getAsBoolean()) {
            assertThat(System.nanoTime()).as("waiting for " + what).isLessThan(deadline);
            Thread.onSpinWait();
        }
    }
}
