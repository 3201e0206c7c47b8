package dev.reactivelocks.distributed;

import static dev.reactivelocks.distributed.DistributedLockServiceTest.granted;
import static dev.reactivelocks.distributed.DistributedLockServiceTest.subscribe;
import static org.assertj.core.api.Assertions.assertThat;

import dev.reactivelocks.LockHandle;
import dev.reactivelocks.LockLostException;
import dev.reactivelocks.LockMode;
import dev.reactivelocks.LockOptions;
import dev.reactivelocks.spi.LockBackend;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import reactor.core.Disposable;
import reactor.core.publisher.Sinks;
import reactor.test.scheduler.VirtualTimeScheduler;
import reactor.test.subscriber.TestSubscriber;

/**
 * {@link LockHandle#downgrade()} of distributed locks, step by step in virtual time: between services, a
 * backend that does not implement {@link LockBackend#downgrade}, a cancel while the store call is under way,
 * and a lease lost before the downgrade.
 */
class DistributedDowngradeTest {

    private static final Duration LEASE = Duration.ofSeconds(2);
    private static final Duration POLL = Duration.ofMillis(250);

    private final VirtualTimeScheduler vts = VirtualTimeScheduler.create();
    private final InMemoryLockBackend store = InMemoryLockBackend.create(vts);
    private final List<Disposable> disposables = new ArrayList<>();

    @AfterEach
    void tearDown() {
        disposables.forEach(Disposable::dispose);
        vts.dispose();
    }

    private DistributedLockService service(LockBackend backend) {
        DistributedLockService s = DistributedLockService.builder(backend).lease(LEASE)
                .renewEvery(Duration.ofMillis(500)).pollInterval(POLL).timer(vts).build();
        disposables.add(s);
        return s;
    }

    private static boolean isLost(LockHandle h) {
        TestSubscriber<Void> ts = TestSubscriber.create();
        h.lost().subscribe(ts);
        return ts.isTerminatedComplete();
    }

    @Test
    void sharedWaitersOfOtherServicesAheadOfAWriterJoinAndTheWriterWaits() {
        DistributedLockService holder = service(store);
        LockHandle exclusive = granted(subscribe(holder.acquire("report")));
        TestSubscriber<LockHandle> reader = subscribe(service(store).acquire("report", LockOptions.shared()));
        TestSubscriber<LockHandle> writer = subscribe(service(store).acquire("report"));
        TestSubscriber<LockHandle> lateReader = subscribe(service(store).acquire("report", LockOptions.shared()));
        vts.advanceTimeBy(POLL.multipliedBy(2));
        assertThat(store.queuedTokens("report")).hasSize(3);

        LockHandle shared = granted(subscribe(exclusive.downgrade()));
        assertThat(shared.mode()).isEqualTo(LockMode.SHARED);
        assertThat(shared.fencingToken()).isGreaterThan(exclusive.fencingToken());
        LockHandle first = granted(reader);
        assertThat(first.fencingToken()).isGreaterThan(shared.fencingToken());
        vts.advanceTimeBy(POLL.multipliedBy(4));
        assertThat(writer.getReceivedOnNext()).as("no writer between the modes, nor with the readers").isEmpty();
        assertThat(lateReader.getReceivedOnNext()).as("behind the queued writer").isEmpty();
        assertThat(store.liveFencingTokens("report")).containsExactly(shared.fencingToken(), first.fencingToken());

        first.release().block();
        exclusive.release().block(); // releases the shared grant that replaced it
        assertThat(shared.isHeld()).isFalse();
        LockHandle w = granted(writer);
        assertThat(lateReader.getReceivedOnNext()).isEmpty();
        w.release().block();
        granted(lateReader).release().block();
        assertThat(store.liveFencingTokens("report")).isEmpty();
    }

    @Test
    void aBackendWithoutDowngradeSaysSoAndTheLockStaysExclusive() {
        FaultyBackend old = new FaultyBackend(store); // implements every method but downgrade
        DistributedLockService locks = service(old);
        LockHandle exclusive = granted(subscribe(locks.acquire("legacy")));

        TestSubscriber<LockHandle> downgrade = subscribe(exclusive.downgrade());
        assertThat(downgrade.getTerminalSignal().getThrowable())
                .isInstanceOf(UnsupportedOperationException.class)
                .hasMessage("dev.reactivelocks.distributed.FaultyBackend does not implement LockBackend.downgrade: "
                        + "lock 'legacy' stays EXCLUSIVE");
        assertThat(exclusive.isHeld()).isTrue();
        assertThat(exclusive.mode()).isEqualTo(LockMode.EXCLUSIVE);
        assertThat(subscribe(service(store).tryAcquire("legacy", LockOptions.shared())).getReceivedOnNext()).isEmpty();

        int renewals = old.renewCalls.get();
        vts.advanceTimeBy(LEASE.multipliedBy(3));
        assertThat(old.renewCalls.get()).as("renewals resumed").isGreaterThan(renewals);
        assertThat(exclusive.isHeld()).isTrue();
        assertThat(isLost(exclusive)).isFalse();
        exclusive.release().block();
        assertThat(store.liveFencingTokens("legacy")).isEmpty();
    }

    @Test
    void aCancelWhileTheStoreDowngradesReleasesTheSharedGrant() {
        Sinks.Empty<Void> gate = Sinks.empty();
        FaultyBackend gated = new FaultyBackend(store);
        gated.downgrade = (name, token, lease) -> gate.asMono().then(store.downgrade(name, token, lease));
        DistributedLockService locks = service(gated);
        LockHandle exclusive = granted(subscribe(locks.acquire("cancelled")));
        TestSubscriber<LockHandle> downgrade = subscribe(exclusive.downgrade());
        downgrade.cancel();
        assertThat(exclusive.isHeld()).isFalse();
        assertThat(store.liveFencingTokens("cancelled")).hasSize(1);

        gate.tryEmitEmpty(); // the store downgrades: the shared grant nobody will receive is released
        assertThat(downgrade.getReceivedOnNext()).isEmpty();
        assertThat(store.liveFencingTokens("cancelled")).isEmpty();
        LockHandle next = granted(subscribe(locks.tryAcquire("cancelled")));
        next.release().block();
    }

    @Test
    void aLeaseLostBeforeTheDowngradeErrorsAndCompletesLost() {
        LockHandle exclusive = granted(subscribe(service(store).acquire("gone")));
        store.release("gone", ((DistributedHandle) exclusive).token()).block(); // purged behind its back

        TestSubscriber<LockHandle> downgrade = subscribe(exclusive.downgrade());
        assertThat(downgrade.getTerminalSignal().getThrowable()).isInstanceOf(LockLostException.class)
                .hasMessage("Lock 'gone' not downgraded: the lease was lost before (expired, released or taken over)");
        assertThat(exclusive.isHeld()).isFalse();
        assertThat(isLost(exclusive)).isTrue();
    }

    @Test
    void theDowngradedHandleReportsTheLossOfTheSharedGrant() {
        LockHandle exclusive = granted(subscribe(service(store).acquire("lost-later")));
        LockHandle shared = granted(subscribe(exclusive.downgrade()));
        store.release("lost-later", ((DistributedHandle) shared).token()).block();
        vts.advanceTimeBy(LEASE);
        assertThat(isLost(shared)).isTrue();
        assertThat(isLost(exclusive)).isTrue();
    }
}
