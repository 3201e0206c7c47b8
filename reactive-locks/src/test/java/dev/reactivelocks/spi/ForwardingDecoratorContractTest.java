package dev.reactivelocks.spi;

import static org.assertj.core.api.Assertions.assertThat;

import dev.reactivelocks.IllegalLockStateException;
import dev.reactivelocks.LockHandle;
import dev.reactivelocks.LockMode;
import dev.reactivelocks.LockOptions;
import dev.reactivelocks.LockService;
import dev.reactivelocks.testkit.contract.HeldByNobodyRaces;
import dev.reactivelocks.testkit.contract.LockServiceContract;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import reactor.core.publisher.Mono;
import reactor.test.StepVerifier;

/**
 * A decorator written as the {@link ForwardingLockService} javadoc tells users to, with the public API and
 * the SPI only (nothing from {@code internal}), keeps every guarantee of the service it decorates: the whole
 * contract, no name left held by nobody when subscribers give up between grant and emission, re-entry
 * detected through it, downgrade and inspection.
 */
class ForwardingDecoratorContractTest extends LockServiceContract {

    private final HeldByNobodyRaces races = new HeldByNobodyRaces();

    /** Counts the grants it handed out that are not released yet. */
    static final class CountingLockService extends ForwardingLockService {
        final AtomicInteger held = new AtomicInteger();

        CountingLockService(LockService delegate) {
            super(delegate);
        }

        @Override
        public Mono<LockHandle> acquire(String name, LockOptions options) {
            return AcquisitionMono.map(delegate().acquire(name, options), this::count);
        }

        @Override
        public Mono<LockHandle> tryAcquire(String name, LockOptions options) {
            return AcquisitionMono.map(delegate().tryAcquire(name, options), this::count);
        }

        LockHandle count(LockHandle granted) {
            held.incrementAndGet();
            return new CountedHandle(granted, this);
        }
    }

    /** Uncounts its grant on the first release; its shared grant after a downgrade is counted afresh. */
    static final class CountedHandle extends ForwardingLockHandle {
        private final CountingLockService service;
        private final AtomicBoolean released = new AtomicBoolean();

        CountedHandle(LockHandle delegate, CountingLockService service) {
            super(delegate);
            this.service = service;
        }

        @Override
        public Mono<Void> release() {
            return Mono.defer(() -> {
                uncount();
                return super.release();
            });
        }

        @Override
        public Mono<LockHandle> downgrade() {
            return AcquisitionMono.map(super.downgrade(), shared -> {
                uncount();
                return service.count(shared);
            });
        }

        private void uncount() {
            if (released.compareAndSet(false, true)) {
                service.held.decrementAndGet();
            }
        }
    }

    @Override
    protected LockService createService() {
        return new CountingLockService(LockService.inProcess());
    }

    private int heldThroughTheDecorator() {
        return ((CountingLockService) locks).held.get();
    }

    @AfterEach
    void closeRaces() {
        races.close();
    }

    @Test
    void grantsAreWrappedAndUncountedOnceReleased() {
        LockHandle handle = locks.acquire("counted").block(WAIT);
        assertThat(handle).isInstanceOf(CountedHandle.class);
        assertThat(ForwardingLockHandle.innermost(handle)).isNotInstanceOf(ForwardingLockHandle.class);
        assertThat(heldThroughTheDecorator()).isOne();
        handle.release().block(WAIT);
        handle.release().block(WAIT);
        assertThat(heldThroughTheDecorator()).isZero();
        assertThat(ForwardingLockService.innermost(locks)).isNotInstanceOf(ForwardingLockService.class);
    }

    @Test
    void noNameIsLeftHeldByNobodyThroughTheDecorator() {
        assertThat(races.run(locks, 10_000, HeldByNobodyRaces.Pattern.values())).isEmpty();
        assertThat(heldThroughTheDecorator()).as("grants of the decorator not released").isZero();
    }

    @Test
    @Tag("loops")
    void noNameIsLeftHeldByNobodyThroughTheDecorator_loop() {
        assertThat(races.run(locks, 1_000_000, HeldByNobodyRaces.Pattern.values())).isEmpty();
        assertThat(heldThroughTheDecorator()).isZero();
    }

    @Test
    void reentryIsDetectedThroughTheDecoratorAndThroughItsDelegate() {
        LockService delegate = ((CountingLockService) locks).delegate();
        StepVerifier.create(locks.withLock("r", delegate.acquire("r")))
                .expectErrorMessage("Lock 'r' is already held (EXCLUSIVE) by this pipeline; locks are not reentrant")
                .verify(WAIT);
        StepVerifier.create(delegate.withLock("r", LockOptions.shared(), locks.acquire("r")))
                .expectErrorMessage("Lock 'r' is held SHARED by this pipeline; upgrading to EXCLUSIVE would deadlock")
                .verify(WAIT);
        StepVerifier.create(locks.withLock("r", new CountingLockService(locks).acquire("r")))
                .expectError(IllegalLockStateException.class)
                .verify(WAIT);
        assertThat(heldThroughTheDecorator()).isZero();
    }

    @Test
    void downgradeThroughTheDecoratorHandsOutAWrappedSharedGrant() {
        LockHandle exclusive = locks.acquire("d").block(WAIT);
        LockHandle shared = exclusive.downgrade().block(WAIT);
        assertThat(shared).isInstanceOf(CountedHandle.class);
        assertThat(shared.mode()).isEqualTo(LockMode.SHARED);
        assertThat(shared.fencingToken()).isGreaterThan(exclusive.fencingToken());
        assertThat(heldThroughTheDecorator()).isOne();
        LockHandle reader = locks.tryAcquire("d", LockOptions.shared()).block(WAIT);
        assertThat(reader).isNotNull();
        reader.release().block(WAIT);
        shared.release().block(WAIT);
        assertThat(heldThroughTheDecorator()).isZero();
        LockHandle again = locks.tryAcquire("d").block(WAIT);
        assertThat(again).as("free again").isNotNull();
        again.release().block(WAIT);
    }

    @Test
    void inspectionSeesLocksHeldThroughTheDecorator() {
        LockHandle handle = locks.acquire("seen", LockOptions.shared()).block(WAIT);
        StepVerifier.create(locks.inspect("seen"))
                .assertNext(info -> {
                    assertThat(info.name()).isEqualTo("seen");
                    assertThat(info.mode()).isEqualTo(LockMode.SHARED);
                    assertThat(info.fencingToken()).hasValue(handle.fencingToken());
                })
                .expectComplete()
                .verify(WAIT);
        handle.release().block(WAIT);
        StepVerifier.create(locks.inspect("seen")).expectComplete().verify(WAIT);
    }
}
