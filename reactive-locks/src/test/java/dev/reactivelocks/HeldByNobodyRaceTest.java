package dev.reactivelocks;

import static org.assertj.core.api.Assertions.assertThat;

import dev.reactivelocks.testkit.contract.HeldByNobodyRaces;
import dev.reactivelocks.testkit.contract.HeldByNobodyRaces.Pattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/** Issue 14: no name is left held by nobody when a grant races a subscriber giving up, in every view. */
class HeldByNobodyRaceTest {

    static final int RACES = Integer.getInteger("reactivelocks.races", 10_000);
    static final int LOOP_RACES = 1_000_000;

    private final HeldByNobodyRaces races = new HeldByNobodyRaces();
    private final LockService locks = LockService.inProcess();

    @AfterEach
    void tearDown() {
        races.close();
        locks.dispose();
    }

    @Test
    void inProcessLeavesNoNameHeldByNobody() {
        assertThat(races.run(locks, RACES, Pattern.values())).isEmpty();
    }

    @Test
    void watchedViewLeavesNoNameHeldByNobody() {
        assertThat(races.run(locks.warnIfHeldLongerThan(java.time.Duration.ofMinutes(1)), RACES, Pattern.values()))
                .isEmpty();
    }

    @Test
    void prefixedViewLeavesNoNameHeldByNobody() {
        assertThat(races.run(locks.withPrefix("p-"), RACES, Pattern.values())).isEmpty();
    }

    @Test
    void fileServiceLeavesNoNameHeldByNobody(@org.junit.jupiter.api.io.TempDir java.nio.file.Path dir) {
        LockService files = dev.reactivelocks.file.FileLockService.create(
                dev.reactivelocks.file.FileLockConfig.builder().lockDirectory(dir).build());
        try {
            assertThat(races.run(files, RACES, Pattern.values())).isEmpty();
        } finally {
            files.disposeLater().block(java.time.Duration.ofSeconds(30));
        }
    }

    @Test
    void fileServiceWithoutIdleChannelsLeavesNoNameHeldByNobody(@org.junit.jupiter.api.io.TempDir java.nio.file.Path dir) {
        LockService files = dev.reactivelocks.file.FileLockService.create(dev.reactivelocks.file.FileLockConfig.builder()
                .lockDirectory(dir).channelIdleTimeout(java.time.Duration.ZERO).build());
        try {
            assertThat(races.run(files, RACES, Pattern.values())).isEmpty();
        } finally {
            files.disposeLater().block(java.time.Duration.ofSeconds(30));
        }
    }

    @Test
    void distributedServiceLeavesNoNameHeldByNobody() {
        LockService distributed = dev.reactivelocks.distributed.DistributedLockService
                .builder(dev.reactivelocks.distributed.InMemoryLockBackend.create()).build();
        try {
            assertThat(races.run(distributed, RACES, Pattern.values())).isEmpty();
        } finally {
            distributed.disposeLater().block(java.time.Duration.ofSeconds(30));
        }
    }

    @Test
    void distributedServicesWakingEachOtherLeaveNoNameHeldByNobody() {
        betweenServices(dev.reactivelocks.distributed.InMemoryLockBackend.create());
    }

    @Test
    void distributedServicesHandingOffLeaveNoNameHeldByNobody() {
        betweenServices(dev.reactivelocks.distributed.InMemoryLockBackend.createHandingOff());
    }

    /**
     * The holder in one service, the racing waiter in another, queued in the store: the release lets the
     * waiter through (a wake-up, or a hand-off of the lease) while the waiter gives up. The waiters' lease
     * and queue entries outlive the settling time, so nothing left behind can expire unnoticed.
     */
    private void betweenServices(dev.reactivelocks.spi.LockBackend store) {
        java.time.Duration lease = java.time.Duration.ofSeconds(60);
        LockService holders = dev.reactivelocks.distributed.DistributedLockService.builder(store).lease(lease).build();
        LockService waiters = dev.reactivelocks.distributed.DistributedLockService.builder(store).lease(lease)
                .pollInterval(java.time.Duration.ofSeconds(10)).build();
        java.util.concurrent.atomic.AtomicInteger handOffs = new java.util.concurrent.atomic.AtomicInteger();
        reactor.core.Disposable counting = store.handOffs().subscribe(h -> handOffs.incrementAndGet());
        try {
            assertThat(races.run(holders, waiters, RACES, Pattern.values())).isEmpty();
            System.out.println(store + ": " + handOffs + " hand-offs in " + RACES + " races");
        } finally {
            counting.dispose();
            holders.disposeLater().block(java.time.Duration.ofSeconds(30));
            waiters.disposeLater().block(java.time.Duration.ofSeconds(30));
        }
    }

    @Test
    @Tag("loops")
    void inProcessLeavesNoNameHeldByNobody_loop() {
        assertThat(races.run(locks, LOOP_RACES, Pattern.values())).isEmpty();
    }
}
