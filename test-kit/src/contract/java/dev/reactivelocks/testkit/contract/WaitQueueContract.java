package dev.reactivelocks.testkit.contract;

import static org.assertj.core.api.Assertions.assertThat;

import dev.reactivelocks.LockMode;
import dev.reactivelocks.spi.BackendLease;
import dev.reactivelocks.spi.HandOff;
import dev.reactivelocks.spi.LockBackend;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.locks.LockSupport;
import java.util.function.BooleanSupplier;
import org.jspecify.annotations.Nullable;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import reactor.core.Disposable;
import reactor.core.Disposables;

/**
 * The rules of a {@link LockBackend} with a wait queue ({@link LockBackend#acquireOrQueue}), on top of those of
 * {@link LockBackendContract}: waiters are granted in the order they queued, shared waiters at the head pass
 * together up to the first exclusive one, {@link LockBackend#tryAcquire} never barges past the queue, a release
 * wakes only the waiters it lets through (their tokens on {@link LockBackend#releases()}), a waiter's
 * {@link LockBackend#release} removes its entry, an entry expires {@code keepQueued} after its waiter's last
 * call, and, for a backend that hands off ({@link #handsOff()}), the lock passes to the head in the release's
 * own step and is announced on {@link LockBackend#handOffs()} before the wake-up.
 *
 * <p>The tests call the backend as a waiting service does: a waiter asks again with the same token until it
 * is granted, and a granted waiter finds its lease with that call whether the backend woke it or handed the
 * lock to it.
 */
public abstract class WaitQueueContract extends LockBackendContract {

    private static final Duration POLL = Duration.ofMillis(10);

    private final Disposable.Composite listening = Disposables.composite();

    /**
     * Whether the backend grants queued waiters in the step of the release and announces it on
     * {@link LockBackend#handOffs()}.
     *
     * @return {@code true} unless overridden
     */
    protected boolean handsOff() {
        return true;
    }

    @AfterEach
    protected void stopListening() {
        listening.dispose();
    }

    /**
     * {@link LockBackend#acquireOrQueue} with {@link #LEASE} as the lease and the queue entry's lifetime.
     *
     * @param name the lock name
     * @param mode the mode
     * @param token the waiter's token
     * @return the lease, or {@code null} when the waiter is queued
     */
    protected @Nullable BackendLease queue(String name, LockMode mode, String token) {
        return backend().acquireOrQueue(name, mode, token, LEASE, LEASE).block(WAIT);
    }

    private static void await(String what, BooleanSupplier condition) {
        long deadline = System.nanoTime() + WAIT.toNanos();
        while (!condition.getAsBoolean()) {
            assertThat(System.nanoTime() - deadline).as("waited for: %s", what).isNegative();
            LockSupport.parkNanos(POLL.toNanos());
        }
    }

    /** The signals this client received since it started listening. */
    private final class Signals {
        final List<String> wakeUps = new CopyOnWriteArrayList<>();
        final List<HandOff> handOffs = new CopyOnWriteArrayList<>();

        List<String> wakeUpsOf(String... tokens) {
            List<String> of = List.of(tokens);
            return wakeUps.stream().filter(of::contains).toList();
        }
    }

    /**
     * Listens to {@link LockBackend#releases()} and {@link LockBackend#handOffs()} and returns once both flow:
     * a probe waiter was woken (and handed the lock) by a probe release. A store's subscription may become
     * live after the subscribe call returns, so probes are repeated until one is seen.
     */
    private Signals listen() {
        Signals signals = new Signals();
        listening.add(backend().releases().subscribe(signals.wakeUps::add));
        listening.add(backend().handOffs().subscribe(signals.handOffs::add));
        long deadline = System.nanoTime() + WAIT.toNanos();
        for (int i = 0; ; i++) {
            String probe = name("probe-" + i);
            String waiter = "probe-waiter-" + i;
            acquire(probe, LockMode.EXCLUSIVE, "probe-holder");
            assertThat(queue(probe, LockMode.EXCLUSIVE, waiter)).isNull();
            release(probe, "probe-holder");
            long probeEnd = Math.min(deadline, System.nanoTime() + Duration.ofMillis(500).toNanos());
            BooleanSupplier live = () -> signals.wakeUps.contains(waiter)
                    && (!handsOff() || signals.handOffs.stream().anyMatch(h -> h.token().equals(waiter)));
            while (System.nanoTime() - probeEnd < 0 && !live.getAsBoolean()) {
                LockSupport.parkNanos(POLL.toNanos());
            }
            queue(probe, LockMode.EXCLUSIVE, waiter);
            release(probe, waiter);
            if (live.getAsBoolean()) {
                signals.wakeUps.clear();
                signals.handOffs.clear();
                return signals;
            }
            assertThat(System.nanoTime() - deadline).as("the backend's signals never arrived").isNegative();
        }
    }

    // ---- order ----------------------------------------------------------------------------------------------

    @Test
    protected void waitersAreGrantedInTheOrderTheyQueuedWithIncreasingFencingTokens() {
        String fifo = name("fifo");
        long held = acquire(fifo, LockMode.EXCLUSIVE, "holder").fencingToken();
        assertThat(queue(fifo, LockMode.EXCLUSIVE, "w1")).isNull();
        assertThat(queue(fifo, LockMode.EXCLUSIVE, "w2")).isNull();
        assertThat(queue(fifo, LockMode.EXCLUSIVE, "w3")).isNull();
        release(fifo, "holder");
        assertThat(queue(fifo, LockMode.EXCLUSIVE, "w3")).as("behind w1 and w2").isNull();
        assertThat(queue(fifo, LockMode.EXCLUSIVE, "w2")).as("behind w1").isNull();
        BackendLease first = queue(fifo, LockMode.EXCLUSIVE, "w1");
        assertThat(first).isNotNull();
        assertThat(first.fencingToken()).isGreaterThan(held);
        assertThat(queue(fifo, LockMode.EXCLUSIVE, "w2")).as("w1 holds it").isNull();
        release(fifo, "w1");
        assertThat(queue(fifo, LockMode.EXCLUSIVE, "w3")).as("behind w2").isNull();
        BackendLease second = queue(fifo, LockMode.EXCLUSIVE, "w2");
        assertThat(second).isNotNull();
        assertThat(second.fencingToken()).isGreaterThan(first.fencingToken());
        release(fifo, "w2");
        BackendLease third = queue(fifo, LockMode.EXCLUSIVE, "w3");
        assertThat(third).isNotNull();
        assertThat(third.fencingToken()).isGreaterThan(second.fencingToken());
        release(fifo, "w3");
    }

    @Test
    protected void sharedWaitersAtTheHeadPassTogetherUpToTheFirstExclusive() {
        String run = name("shared-run");
        acquire(run, LockMode.EXCLUSIVE, "holder");
        assertThat(queue(run, LockMode.SHARED, "s1")).isNull();
        assertThat(queue(run, LockMode.SHARED, "s2")).isNull();
        assertThat(queue(run, LockMode.EXCLUSIVE, "x")).isNull();
        assertThat(queue(run, LockMode.SHARED, "s3")).isNull();
        release(run, "holder");
        assertThat(queue(run, LockMode.SHARED, "s1")).isNotNull();
        assertThat(queue(run, LockMode.SHARED, "s2")).isNotNull();
        assertThat(queue(run, LockMode.EXCLUSIVE, "x")).isNull();
        assertThat(queue(run, LockMode.SHARED, "s3")).as("queued behind the writer").isNull();
        release(run, "s1");
        assertThat(queue(run, LockMode.EXCLUSIVE, "x")).as("s2 still reads").isNull();
        release(run, "s2");
        assertThat(queue(run, LockMode.EXCLUSIVE, "x")).isNotNull();
        assertThat(queue(run, LockMode.SHARED, "s3")).isNull();
        release(run, "x");
        assertThat(queue(run, LockMode.SHARED, "s3")).isNotNull();
        release(run, "s3");
    }

    @Test
    protected void tryAcquireNeverBargesPastAQueuedWaiter() {
        String fair = name("no-barging");
        acquire(fair, LockMode.SHARED, "reader");
        assertThat(queue(fair, LockMode.EXCLUSIVE, "writer")).isNull();
        assertThat(acquire(fair, LockMode.SHARED, "late-reader")).as("would jump the queued writer").isNull();
        release(fair, "reader");
        assertThat(acquire(fair, LockMode.EXCLUSIVE, "barger")).as("the writer is next").isNull();
        assertThat(queue(fair, LockMode.EXCLUSIVE, "writer")).isNotNull();
        release(fair, "writer");
        assertThat(acquire(fair, LockMode.EXCLUSIVE, "barger")).as("nobody queued any more").isNotNull();
    }

    // ---- leaving the queue ----------------------------------------------------------------------------------

    @Test
    protected void aWaiterThatLeavesReleasesItsEntryAndTheNextIsGranted() {
        String leave = name("leave");
        acquire(leave, LockMode.EXCLUSIVE, "holder");
        assertThat(queue(leave, LockMode.EXCLUSIVE, "leaver")).isNull();
        assertThat(queue(leave, LockMode.EXCLUSIVE, "stayer")).isNull();
        assertThat(release(leave, "leaver")).as("it held no lease").isFalse();
        release(leave, "holder");
        assertThat(queue(leave, LockMode.EXCLUSIVE, "stayer")).isNotNull();
        release(leave, "stayer");
    }

    @Test
    protected void theEntryOfAWaiterThatStoppedAskingExpiresAndTheNextIsGranted() {
        String dead = name("dead-waiter");
        acquire(dead, LockMode.EXCLUSIVE, "holder");
        assertThat(backend().acquireOrQueue(dead, LockMode.EXCLUSIVE, "dead", LEASE, Duration.ofMillis(300))
                .block(WAIT)).isNull();
        assertThat(queue(dead, LockMode.EXCLUSIVE, "live")).isNull();
        release(dead, "holder");
        // the dead waiter never asks again: its entry (or the lock handed to it) lives keepQueued, then passes on
        await("the live waiter is granted past the dead one's entry", () -> queue(dead, LockMode.EXCLUSIVE, "live") != null);
        assertThat(backend().renew(dead, "dead", LEASE).block(WAIT)).as("nothing left for the dead waiter").isFalse();
        release(dead, "live");
    }

    // ---- signals --------------------------------------------------------------------------------------------

    @Test
    protected void aReleaseWakesOnlyTheWaitersItLetsThroughWhateverTheName() {
        Signals signals = listen();
        String name = name("wake-\u0000-me-" + "\u00e9".repeat(5000));
        acquire(name, LockMode.EXCLUSIVE, "holder");
        assertThat(queue(name, LockMode.EXCLUSIVE, "first")).isNull();
        assertThat(queue(name, LockMode.EXCLUSIVE, "second")).isNull();
        release(name, "holder");
        await("the head is woken", () -> signals.wakeUps.contains("first"));
        assertThat(queue(name, LockMode.EXCLUSIVE, "first")).isNotNull();
        release(name, "first");
        await("the next is woken", () -> signals.wakeUps.contains("second"));
        assertThat(signals.wakeUpsOf("first", "second")).as("each woken once, in turn").containsExactly("first", "second");
        assertThat(queue(name, LockMode.EXCLUSIVE, "second")).isNotNull();
        release(name, "second");
    }

    @Test
    protected void aReleaseHandsTheLockToTheHeadAndAnnouncesItBeforeWakingIt() {
        Assumptions.assumeTrue(handsOff(), "this backend wakes its waiters without hand-offs");
        Signals signals = listen();
        String name = name("hand-off-\u0000-" + "\u00e9".repeat(5000));
        long held = acquire(name, LockMode.EXCLUSIVE, "holder").fencingToken();
        assertThat(queue(name, LockMode.EXCLUSIVE, "next")).isNull();
        release(name, "holder");
        await("the hand-off is announced and the waiter woken", () -> signals.wakeUps.contains("next"));
        List<HandOff> handOffs = signals.handOffs.stream().filter(h -> h.token().equals("next")).toList();
        assertThat(handOffs).as("announced before the wake-up").hasSize(1);
        HandOff handOff = handOffs.get(0);
        assertThat(handOff.mode()).isEqualTo(LockMode.EXCLUSIVE);
        assertThat(handOff.fencingToken()).isGreaterThan(held);
        assertThat(queue(name, LockMode.EXCLUSIVE, "next")).as("the next call finds the lease handed off")
                .isEqualTo(handOff.lease(name));
        assertThat(release(name, "next")).isTrue();
    }

    @Test
    protected void aHandOffNobodyTakesIsReleasedByItsWaiterAndTheNextIsGranted() {
        Assumptions.assumeTrue(handsOff(), "this backend wakes its waiters without hand-offs");
        String name = name("hand-off-left");
        acquire(name, LockMode.EXCLUSIVE, "holder");
        assertThat(queue(name, LockMode.EXCLUSIVE, "leaver")).isNull();
        assertThat(queue(name, LockMode.EXCLUSIVE, "next")).isNull();
        release(name, "holder");
        assertThat(release(name, "leaver")).as("the lease handed to it").isTrue();
        assertThat(queue(name, LockMode.EXCLUSIVE, "next")).isNotNull();
        release(name, "next");
    }
}
