package dev.reactivelocks.distributed;

import static dev.reactivelocks.distributed.DistributedLockServiceTest.granted;
import static dev.reactivelocks.distributed.DistributedLockServiceTest.subscribe;
import static org.assertj.core.api.Assertions.assertThat;

import dev.reactivelocks.LockHandle;
import dev.reactivelocks.LockMode;
import dev.reactivelocks.LockOptions;
import dev.reactivelocks.LockService;
import dev.reactivelocks.LockTimeoutException;
import dev.reactivelocks.spi.HandOff;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import reactor.core.Disposable;
import reactor.core.publisher.Flux;
import reactor.test.scheduler.VirtualTimeScheduler;
import reactor.test.subscriber.TestSubscriber;

/**
 * Hand-offs ({@link dev.reactivelocks.spi.LockBackend#handOffs()}): a release grants the lease to the queued
 * waiter of another service in the same step, and the waiter takes it without asking the store again, step
 * by step in virtual time. The lease of a hand-off lives only as long as the waiter's queue entry would
 * have, until the waiter renews it.
 */
class InMemoryHandOffTest {

    private static final Duration LEASE = Duration.ofSeconds(2);
    private static final Duration POLL = Duration.ofMillis(250);
    /** The services' queue entry lifetime: three polls and the retry backoff. */
    private static final Duration KEEP = POLL.multipliedBy(3).plus(DistributedLockService.RETRY_MAX);

    private final VirtualTimeScheduler vts = VirtualTimeScheduler.create();
    private final InMemoryLockBackend store = InMemoryLockBackend.createHandingOff(vts);
    private final FaultyBackend tap = new FaultyBackend(store);
    private final List<Disposable> disposables = new ArrayList<>();
    private final List<HandOff> handOffs = new CopyOnWriteArrayList<>();

    InMemoryHandOffTest() {
        disposables.add(store.handOffs().subscribe(handOffs::add));
    }

    @AfterEach
    void tearDown() {
        disposables.forEach(Disposable::dispose);
        vts.dispose();
    }

    private DistributedLockService service() {
        DistributedLockService s = DistributedLockService.builder(tap).lease(LEASE)
                .renewEvery(Duration.ofMillis(500)).pollInterval(POLL).timer(vts).build();
        disposables.add(s);
        return s;
    }

    private static String token(LockHandle h) {
        return ((DistributedHandle) h).token();
    }

    private static boolean waiting(TestSubscriber<LockHandle> ts) {
        return ts.getReceivedOnNext().isEmpty() && !ts.isTerminated();
    }

    @Test
    void aReleaseHandsTheLockToTheQueuedWaiterWhichTakesItWithoutAskingAgain() {
        LockService a = service();
        LockService b = service();
        LockHandle held = granted(subscribe(a.acquire("pass")));
        TestSubscriber<LockHandle> waiter = subscribe(b.acquire("pass"));
        String queued = store.queuedTokens("pass").get(0);
        int callsBefore = tap.acquireCalls.get();

        held.release().block();
        LockHandle next = granted(waiter);
        assertThat(tap.acquireCalls.get()).as("no acquire call after the release").isEqualTo(callsBefore);
        assertThat(handOffs).containsExactly(HandOff.of(queued, LockMode.EXCLUSIVE, next.fencingToken()));
        assertThat(token(next)).isEqualTo(queued);
        assertThat(next.fencingToken()).isGreaterThan(held.fencingToken());
        assertThat(store.liveFencingTokens("pass")).containsExactly(next.fencingToken());
        assertThat(store.queuedTokens("pass")).isEmpty();
    }

    @Test
    void aHandedOffLeaseIsRenewedToTheFullLeaseBeforeTheQueueEntryWouldHaveExpired() {
        LockService a = service();
        LockService b = service();
        LockHandle held = granted(subscribe(a.acquire("renew")));
        TestSubscriber<LockHandle> waiter = subscribe(b.acquire("renew"));
        held.release().block();
        LockHandle next = granted(waiter);
        int renewals = tap.renewCalls.get();

        vts.advanceTimeBy(KEEP.multipliedBy(3));
        assertThat(next.isHeld()).isTrue();
        assertThat(tap.renewCalls.get()).as("renewed").isGreaterThan(renewals);
        assertThat(store.liveFencingTokens("renew")).containsExactly(next.fencingToken());
        assertThat(next.lost().toFuture()).isNotDone();
    }

    /** The dead waiter's token equals the name: a waiter of the name must not take the token's hand-off. */
    @Test
    void aHandOffToAWaiterThatDiedIsHandedOnWithinItsQueueEntryLifetime() {
        LockService a = service();
        LockService b = service();
        LockHandle held = granted(subscribe(a.acquire("dead")));
        Duration deadKeep = Duration.ofSeconds(1);
        assertThat(store.acquireOrQueue("dead", LockMode.EXCLUSIVE, "dead", LEASE, deadKeep).block()).isNull();
        TestSubscriber<LockHandle> alive = subscribe(b.acquire("dead"));

        held.release().block();
        assertThat(handOffs).extracting(HandOff::token).containsExactly("dead");
        vts.advanceTimeBy(deadKeep.minusMillis(1));
        assertThat(waiting(alive)).as("the dead waiter's lease is live").isTrue();
        vts.advanceTimeBy(POLL);   // the next poll finds it expired: granted to the poll itself
        assertThat(granted(alive).isHeld()).isTrue();
        assertThat(store.liveFencingTokens("dead")).containsExactly(granted(alive).fencingToken());
    }

    @Test
    void aWaiterThatTimesOutWhileTheLockIsHandedToItReleasesTheHandOffToTheNextWaiter() {
        tap.handOffs = f -> f.delayElements(Duration.ofMillis(100), vts);
        tap.releases = f -> f.delayElements(Duration.ofMillis(100), vts);
        LockService a = service();
        LockService b = service();
        LockService c = service();
        LockHandle held = granted(subscribe(a.acquire("leave")));
        TestSubscriber<LockHandle> impatient = subscribe(b.acquire("leave",
                LockOptions.exclusive().timeout(Duration.ofMillis(150))));
        TestSubscriber<LockHandle> patient = subscribe(c.acquire("leave"));
        vts.advanceTimeBy(Duration.ofMillis(100));

        held.release().block();                       // handed to the impatient waiter, announced 100 ms later
        vts.advanceTimeBy(Duration.ofMillis(50));     // it times out first, and releases what it was given
        assertThat(impatient.expectTerminalError()).isInstanceOf(LockTimeoutException.class);
        assertThat(waiting(patient)).as("the announcement to the next waiter is on its way").isTrue();
        vts.advanceTimeBy(Duration.ofMillis(100));
        LockHandle next = granted(patient);
        assertThat(impatient.getReceivedOnNext()).isEmpty();
        assertThat(store.liveFencingTokens("leave")).containsExactly(next.fencingToken());
    }

    @Test
    void aWaiterThatDoesNotSeeTheHandOffIsWokenAndFindsTheLeaseWithItsNextCall() {
        tap.handOffs = f -> Flux.never();
        LockService a = service();
        LockService b = service();
        LockHandle held = granted(subscribe(a.acquire("missed")));
        TestSubscriber<LockHandle> waiter = subscribe(b.acquire("missed"));
        int callsBefore = tap.acquireCalls.get();

        held.release().block();
        LockHandle next = granted(waiter);
        assertThat(tap.acquireCalls.get()).as("one call, which found the lease").isEqualTo(callsBefore + 1);
        assertThat(handOffs).containsExactly(HandOff.of(token(next), LockMode.EXCLUSIVE, next.fencingToken()));
        vts.advanceTimeBy(KEEP.multipliedBy(3));
        assertThat(next.isHeld()).as("the call extended the lease to the full one").isTrue();
    }

    @Test
    void aWaiterThatMissesEverySignalFindsTheLeaseAtItsNextPoll() {
        tap.handOffs = f -> Flux.never();
        tap.releases = f -> Flux.never();
        LockService a = service();
        LockService b = service();
        LockHandle held = granted(subscribe(a.acquire("lost")));
        TestSubscriber<LockHandle> waiter = subscribe(b.acquire("lost"));
        held.release().block();
        assertThat(waiting(waiter)).isTrue();

        vts.advanceTimeBy(POLL);
        LockHandle next = granted(waiter);
        assertThat(handOffs).containsExactly(HandOff.of(token(next), LockMode.EXCLUSIVE, next.fencingToken()));
    }

    @Test
    void sharedWaitersAtTheHeadAreHandedTheLockTogether() {
        LockService a = service();
        LockService b = service();
        LockService c = service();
        LockService d = service();
        LockHandle writer = granted(subscribe(a.acquire("shared")));
        TestSubscriber<LockHandle> r1 = subscribe(b.acquire("shared", LockOptions.shared()));
        TestSubscriber<LockHandle> r2 = subscribe(c.acquire("shared", LockOptions.shared()));
        TestSubscriber<LockHandle> w2 = subscribe(d.acquire("shared"));

        writer.release().block();
        LockHandle h1 = granted(r1);
        LockHandle h2 = granted(r2);
        assertThat(List.of(h1.mode(), h2.mode())).containsOnly(LockMode.SHARED);
        assertThat(waiting(w2)).isTrue();
        h1.release().block();
        assertThat(waiting(w2)).isTrue();
        h2.release().block();
        assertThat(granted(w2).fencingToken()).isGreaterThan(Math.max(h1.fencingToken(), h2.fencingToken()));
    }

    @Test
    void nothingIsLeftOnceEveryHolderAndWaiterIsGone() {
        LockService a = service();
        LockService b = service();
        LockService c = service();
        LockHandle held = granted(subscribe(a.acquire("empty")));
        TestSubscriber<LockHandle> first = subscribe(b.acquire("empty"));
        TestSubscriber<LockHandle> second = subscribe(c.acquire("empty"));
        second.cancel();
        held.release().block();
        granted(first).release().block();
        assertThat(store).hasToString("InMemoryLockBackend{names=0}");
    }
}
