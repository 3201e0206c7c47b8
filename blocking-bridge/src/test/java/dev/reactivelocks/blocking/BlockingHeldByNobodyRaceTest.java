package dev.reactivelocks.blocking;

import static org.assertj.core.api.Assertions.assertThat;

import dev.reactivelocks.LockHandle;
import dev.reactivelocks.LockOptions;
import dev.reactivelocks.LockService;
import dev.reactivelocks.testkit.contract.SpinRacer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * The blocking bridge's ways of giving up (a deadline passing, an interrupt) racing the holder's release:
 * spin-timed races, a name each, counting the names left held by nobody afterwards.
 */
class BlockingHeldByNobodyRaceTest {

    private final LockService core = LockService.inProcess();
    private final BlockingLockService locks = BlockingLockService.of(core);
    private final SpinRacer racer = new SpinRacer();

    @AfterEach
    void tearDown() {
        racer.close();
        core.dispose();
    }

    @Test
    void deadlinesAndInterruptsRacingAGrantLeaveNoNameHeldByNobody() {
        assertThat(race(10_000)).isEmpty();
    }

    @Test
    @Tag("loops")
    void deadlinesAndInterruptsRacingAGrantLeaveNoNameHeldByNobody_loop() {
        assertThat(race(1_000_000)).isEmpty();
    }

    private List<String> race(int races) {
        List<String> leaked = new ArrayList<>();
        String run = Long.toHexString(ThreadLocalRandom.current().nextLong() & 0xffffffL);
        for (int i = 0; i < races; i++) {
            String name = "blocking-" + run + "-" + i;
            LockHandle holder = core.acquire(name).block(Duration.ofSeconds(10));
            AtomicReference<BlockingLockHandle> got = new AtomicReference<>();
            Runnable release = () -> holder.release().subscribe();
            if (i % 2 == 0) {
                Duration timeout = Duration.ofNanos(1_000 + ThreadLocalRandom.current().nextLong(50_000));
                racer.race(release, () -> {
                    try {
                        locks.tryLock(name, LockOptions.exclusive().timeout(timeout)).ifPresent(got::set);
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                    }
                });
            } else {
                interruptRace(name, release, got);
            }
            BlockingLockHandle h = got.get();
            if (h != null) {
                h.close();
            }
            LockHandle probe = core.tryAcquire(name).block(Duration.ofSeconds(10));
            if (probe == null) {
                leaked.add(name);
            } else {
                probe.release().block();
            }
        }
        return leaked;
    }

    /** A thread blocked in {@code lock()} is interrupted while the holder releases. */
    private void interruptRace(String name, Runnable release, AtomicReference<BlockingLockHandle> got) {
        Thread waiter = new Thread(() -> {
            try {
                got.set(locks.lock(name));
            } catch (InterruptedException expected) {
                // gave up: nothing may be held for it
            }
        });
        waiter.start();
        dev.reactivelocks.InProcessLockService service = (dev.reactivelocks.InProcessLockService) core;
        while (service.stats(name).map(st -> st.pending() == 0).orElse(true)) {
            Thread.onSpinWait(); // until the waiter is queued
        }
        racer.race(release, waiter::interrupt);
        try {
            waiter.join(10_000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
