package dev.reactivelocks.distributed;

import static dev.reactivelocks.distributed.DistributedLockServiceTest.granted;
import static dev.reactivelocks.distributed.DistributedLockServiceTest.subscribe;
import static org.assertj.core.api.Assertions.assertThat;

import dev.reactivelocks.LockHandle;
import dev.reactivelocks.LockMode;
import dev.reactivelocks.LockOptions;
import dev.reactivelocks.LockService;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import reactor.core.Disposable;
import reactor.test.scheduler.VirtualTimeScheduler;
import reactor.test.subscriber.TestSubscriber;

/**
 * The per-name wait queue of {@link InMemoryLockBackend} as seen by several {@link DistributedLockService}s
 * sharing it (like processes sharing a store), step by step in virtual time.
 */
class InMemoryWaitQueueTest {

    private static final Duration LEASE = Duration.ofSeconds(2);
    private static final Duration POLL = Duration.ofMillis(250);

    private final VirtualTimeScheduler vts = VirtualTimeScheduler.create();
    private final InMemoryLockBackend store = InMemoryLockBackend.create(vts);
    private final List<Disposable> disposables = new ArrayList<>();
    private final List<String> signals = new CopyOnWriteArrayList<>();

    InMemoryWaitQueueTest() {
        disposables.add(store.releases().subscribe(signals::add));
    }

    @AfterEach
    void tearDown() {
        disposables.forEach(Disposable::dispose);
        vts.dispose();
    }

    private DistributedLockService service() {
        DistributedLockService s = DistributedLockService.builder(store).lease(LEASE)
                .renewEvery(Duration.ofMillis(500)).pollInterval(POLL).timer(vts).build();
        disposables.add(s);
        return s;
    }

    private static boolean waiting(TestSubscriber<LockHandle> ts) {
        return ts.getReceivedOnNext().isEmpty() && !ts.isTerminated();
    }

    private static String token(LockHandle h) {
        return ((DistributedHandle) h).token();
    }

    /** Queues a waiter that never asks again, as a process that died while waiting would. */
    private void deadWaiter(String name, LockMode mode, Duration keepQueued) {
        assertThat(store.acquireOrQueue(name, mode, "dead", LEASE, keepQueued).block()).isNull();
    }

    @Test
    void waitersOfDifferentServicesAreGrantedInTheOrderTheyQueued() {
        LockService a = service();
        LockService b = service();
        LockService c = service();
        LockHandle held = granted(subscribe(a.acquire("fifo")));
        List<String> order = new CopyOnWriteArrayList<>();
        List<TestSubscriber<LockHandle>> waiters = new ArrayList<>();
        for (LockService s : List.of(b, c, a)) {   // a's waiter reaches the store only after a's release
            TestSubscriber<LockHandle> ts = TestSubscriber.create();
            s.acquire("fifo").doOnNext(h -> order.add(s == a ? "a" : s == b ? "b" : "c")).subscribe(ts);
            waiters.add(ts);
        }
        assertThat(store.queuedTokens("fifo")).hasSize(2);

        held.release().block();
        for (TestSubscriber<LockHandle> ts : waiters) {
            granted(ts).release().block();
        }
        assertThat(order).as("a released and asked again at once, yet queued behind b and c")
                .containsExactly("b", "c", "a");
        assertThat(store.queuedTokens("fifo")).isEmpty();
        assertThat(store.liveFencingTokens("fifo")).isEmpty();
    }

    @Test
    void aReleaseWakesOnlyTheHeadOfTheQueue() {
        LockService a = service();
        LockService b = service();
        LockService c = service();
        LockHandle held = granted(subscribe(a.acquire("head")));
        TestSubscriber<LockHandle> first = subscribe(b.acquire("head"));
        TestSubscriber<LockHandle> second = subscribe(c.acquire("head"));
        List<String> queued = store.queuedTokens("head");

        held.release().block();
        assertThat(signals).containsExactly(queued.get(0));
        assertThat(waiting(second)).isTrue();
        granted(first).release().block();
        assertThat(signals).containsExactly(queued.get(0), queued.get(1));
        assertThat(token(granted(second))).isEqualTo(queued.get(1));
    }

    @Test
    void theEntryOfADeadWaiterStopsBlockingOnceItExpires() {
        LockService a = service();
        LockService b = service();
        LockHandle held = granted(subscribe(a.acquire("dead")));
        deadWaiter("dead", LockMode.EXCLUSIVE, Duration.ofSeconds(1));
        TestSubscriber<LockHandle> alive = subscribe(b.acquire("dead"));
        held.release().block();
        assertThat(signals).as("the dead waiter is woken, nobody answers").containsExactly("dead");

        vts.advanceTimeBy(Duration.ofMillis(999));
        assertThat(waiting(alive)).as("behind a live entry").isTrue();
        vts.advanceTimeBy(POLL);   // the next poll finds the entry expired
        assertThat(granted(alive).isHeld()).isTrue();
        assertThat(store.queuedTokens("dead")).isEmpty();
    }

    @Test
    void aCancelledWaiterLeavesTheQueueAtOnceAndWakesWhoCanNowPass() {
        LockService a = service();
        LockService b = service();
        LockService c = service();
        granted(subscribe(a.acquire("cancel", LockOptions.shared())));
        TestSubscriber<LockHandle> writer = subscribe(b.acquire("cancel"));
        TestSubscriber<LockHandle> reader = subscribe(c.acquire("cancel", LockOptions.shared()));
        assertThat(waiting(reader)).as("does not pass the queued writer").isTrue();
        assertThat(store.queuedTokens("cancel")).hasSize(2);

        writer.cancel();
        assertThat(granted(reader).mode()).as("no time passed").isEqualTo(LockMode.SHARED);
        assertThat(store.queuedTokens("cancel")).isEmpty();
    }

    @Test
    void aTimedOutWaiterLeavesTheQueue() {
        LockService a = service();
        LockService b = service();
        LockService c = service();
        LockHandle held = granted(subscribe(a.acquire("timeout")));
        TestSubscriber<LockHandle> impatient = subscribe(b.acquire("timeout", LockOptions.exclusive()
                .timeout(Duration.ofSeconds(1))));
        TestSubscriber<LockHandle> patient = subscribe(c.acquire("timeout"));
        vts.advanceTimeBy(Duration.ofSeconds(1));
        assertThat(impatient.isTerminatedError()).isTrue();
        assertThat(store.queuedTokens("timeout")).hasSize(1);

        held.release().block();
        assertThat(granted(patient).isHeld()).isTrue();
    }

    @Test
    void sharedWaitersAtTheHeadAreWokenTogether() {
        LockService a = service();
        LockService b = service();
        LockService c = service();
        LockService d = service();
        LockHandle writer = granted(subscribe(a.acquire("shared")));
        TestSubscriber<LockHandle> r1 = subscribe(b.acquire("shared", LockOptions.shared()));
        TestSubscriber<LockHandle> r2 = subscribe(c.acquire("shared", LockOptions.shared()));
        TestSubscriber<LockHandle> w2 = subscribe(d.acquire("shared"));
        TestSubscriber<LockHandle> r3 = subscribe(b.acquire("shared", LockOptions.shared()));
        List<String> queued = store.queuedTokens("shared");
        assertThat(queued).hasSize(4);

        writer.release().block();
        assertThat(signals).containsExactly(queued.get(0), queued.get(1));
        LockHandle h1 = granted(r1);
        LockHandle h2 = granted(r2);
        assertThat(waiting(w2)).isTrue();
        assertThat(waiting(r3)).as("behind the queued writer").isTrue();
        h1.release().block();
        h2.release().block();
        LockHandle h3 = granted(w2);
        assertThat(waiting(r3)).isTrue();
        h3.release().block();
        assertThat(granted(r3).mode()).isEqualTo(LockMode.SHARED);
    }

    @Test
    void tryAcquireNeverBargesPastAQueuedWaiter() {
        LockService a = service();
        LockService b = service();
        LockHandle reader = granted(subscribe(a.acquire("barge", LockOptions.shared())));
        deadWaiter("barge", LockMode.EXCLUSIVE, Duration.ofSeconds(1));
        assertThat(subscribe(b.tryAcquire("barge", LockOptions.shared())).getReceivedOnNext())
                .as("compatible with the lease, not with the queued writer").isEmpty();
        reader.release().block();
        assertThat(subscribe(b.tryAcquire("barge")).getReceivedOnNext()).as("free, but a writer is queued").isEmpty();

        vts.advanceTimeBy(Duration.ofSeconds(1));
        assertThat(granted(subscribe(b.tryAcquire("barge"))).isHeld()).isTrue();
    }

    @Test
    void nothingIsLeftOnceEveryHolderAndWaiterIsGone() {
        LockService a = service();
        LockService b = service();
        LockHandle held = granted(subscribe(a.acquire("empty")));
        TestSubscriber<LockHandle> waiter = subscribe(b.acquire("empty"));
        waiter.cancel();
        held.release().block();
        assertThat(store).hasToString("InMemoryLockBackend{names=0}");
    }
}
