package dev.reactivelocks.distributed;

import dev.reactivelocks.spi.HandOff;
import dev.reactivelocks.spi.LockBackend;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import org.jspecify.annotations.Nullable;
import reactor.core.Disposable;
import reactor.core.Disposables;
import reactor.core.publisher.Mono;
import reactor.core.publisher.MonoSink;
import reactor.core.scheduler.Scheduler;
import reactor.core.scheduler.Schedulers;
import reactor.util.retry.Retry;

/**
 * The wake-ups and hand-offs of one backend, shared by every service on it: one subscription to each of the
 * backend's signal streams, and one map from signal key (a name's {@link LockBackend#signalKey}, or a
 * queued waiter's token) to the waiters it concerns. A signal costs one map look-up however many services
 * share the backend. (With a subscription per service, every signal visited every service: 2,000 services
 * on one backend drained a queue at half the rate of one service.)
 *
 * <p>Services {@link #join} and {@link #leave}; the subscriptions end when the last one leaves, and the next
 * service to join subscribes again. Signals are hints (waiters also poll), so a signal lost while nobody is
 * subscribed only delays a waiter. A signal stream that fails is subscribed again after a backoff on the
 * timer of a joined service (the latest joined that has not left), so that services on a virtual clock are
 * not resubscribed in real time, and a service that left with its timer takes no backoff with it.
 */
final class BackendSignals {

    /** By backend identity: a backend's {@code equals} is its own business. */
    private static final ConcurrentHashMap<Identity, BackendSignals> SHARED = new ConcurrentHashMap<>();

    private final ConcurrentHashMap<String, Set<RemoteAcquisition>> waiting = new ConcurrentHashMap<>();
    private final Disposable.Composite subscriptions = Disposables.composite();
    /**
     * The timers of the joined services, one per join ({@code null}: {@code Schedulers.parallel()}); its size
     * is the number of services joined. Changed only inside {@link #SHARED}'s compute for this backend.
     */
    private final List<@Nullable Scheduler> timers = new ArrayList<>();
    /** The timer of a joined service, which runs the backoffs: the latest joined one that has not left. */
    private volatile @Nullable Scheduler timer;
    /** The backoffs waiting, each with the timer it waits on. */
    private final Set<Backoff> backoffs = ConcurrentHashMap.newKeySet();

    /** A backoff waiting on {@code timer} ({@code null}: {@code Schedulers.parallel()}). */
    private record Backoff(MonoSink<Long> sink, @Nullable Scheduler timer) {
    }

    private BackendSignals() {
    }

    /**
     * The signals of {@code backend}, subscribed while at least one service has joined.
     *
     * @param timer the joining service's timer, which runs the backoffs before a failed stream is subscribed
     *        again while this service is the latest joined one; {@code null}: {@code Schedulers.parallel()},
     *        looked up at each use
     */
    static BackendSignals join(LockBackend backend, @Nullable Scheduler timer) {
        return SHARED.compute(new Identity(backend), (k, s) -> {
            BackendSignals signals = s != null ? s : new BackendSignals();
            signals.timers.add(timer);
            signals.timer = timer;
            return s != null ? signals : signals.subscribe(backend);
        });
    }

    /**
     * A service that {@link #join joined} {@code backend} with {@code timer} leaves it; call once per join.
     * The backoffs move to the timer of a service still joined: a service's timer may be disposed with it.
     */
    void leave(LockBackend backend, @Nullable Scheduler timer) {
        boolean[] timerGone = new boolean[1];
        SHARED.computeIfPresent(new Identity(backend), (k, s) -> {
            if (s != this) {
                return s;
            }
            int at = s.timers.lastIndexOf(timer); // the last: services sharing a timer leave in O(1)
            if (at >= 0) {
                s.timers.remove(at);
            }
            if (!s.timers.isEmpty()) {
                s.timer = s.timers.get(s.timers.size() - 1);
                timerGone[0] = !s.timers.contains(timer);
                return s;
            }
            s.subscriptions.dispose();
            return null;
        });
        if (timerGone[0]) {
            // the timer may be disposed with its service, and a task it drops never runs: subscribe again now
            backoffs.stream().filter(b -> b.timer() == timer).forEach(b -> b.sink().success(0L));
        }
    }

    /**
     * Waits before subscribing again to a stream after its {@code failures}-th failure (100 ms doubling up to
     * 2 s, plus a jitter of at most half), on the timer of a service joined now; on {@code Schedulers.parallel()}
     * when that timer rejects the task (disposed by its user). Ends at once when that timer's last service
     * leaves meanwhile.
     */
    private Mono<Long> backoff(long failures) {
        long base = Math.min(100L << Math.min(failures, 5), 2_000L);
        long delay = base + ThreadLocalRandom.current().nextLong(base / 2 + 1);
        return Mono.create(sink -> {
            Backoff b = new Backoff(sink, timer);
            backoffs.add(b);
            Runnable done = () -> sink.success(0L);
            if (timer != b.timer()) {
                // a join or leave changed the timer meanwhile: a leave may have looked for backoffs before this
                // one was listed (it changes the timer first), so do not wait on the timer it may dispose
                done.run();
                return;
            }
            Disposable task;
            try {
                task = (b.timer() != null ? b.timer() : Schedulers.parallel()).schedule(done, delay, TimeUnit.MILLISECONDS);
            } catch (RejectedExecutionException e) {
                task = Schedulers.parallel().schedule(done, delay, TimeUnit.MILLISECONDS);
            }
            sink.onDispose(Disposables.composite(task, () -> backoffs.remove(b)));
        });
    }

    private BackendSignals subscribe(LockBackend backend) {
        // failures in total, not in a row: a stream that fails after each signal would otherwise retry every 100 ms
        Retry resubscribe = Retry.from(failures -> failures.concatMap(f -> backoff(f.totalRetries())));
        // hand-offs first: a backend sharing one source for both signals a hand-off to its earlier subscribers
        // first, so the waiter takes it before the wake-up for the same token would send it to the store
        subscriptions.add(backend.handOffs().retryWhen(resubscribe).subscribe(this::onHandOff, error -> { }));
        subscriptions.add(backend.releases().retryWhen(resubscribe).subscribe(this::onReleaseSignal, error -> { }));
        return this;
    }

    /** Registers a waiter for the signals of its name and for those addressed to its token. */
    void register(RemoteAcquisition a) {
        add(a.key, a);
        add(a.token, a);
    }

    void deregister(RemoteAcquisition a) {
        remove(a.key, a);
        remove(a.token, a);
    }

    private void add(String key, RemoteAcquisition a) {
        waiting.compute(key, (k, set) -> {
            Set<RemoteAcquisition> s = set != null ? set : ConcurrentHashMap.newKeySet();
            s.add(a);
            return s;
        });
    }

    private void remove(String key, RemoteAcquisition a) {
        waiting.computeIfPresent(key, (k, set) -> {
            set.remove(a);
            return set.isEmpty() ? null : set;
        });
    }

    private void onReleaseSignal(String key) {
        if (LockBackend.ANY_RELEASE.equals(key)) {
            // each waiter is registered twice (name and token): wake it once, or it asks the store twice
            waiting.values().stream().flatMap(Set::stream).distinct().forEach(RemoteAcquisition::wake);
            return;
        }
        Set<RemoteAcquisition> set = waiting.get(key); // a name's signal key, or a queued waiter's token
        if (set != null) {
            set.forEach(RemoteAcquisition::wake);
        }
    }

    /** A grant the store made to a queued token: only the waiter with that token takes it. */
    private void onHandOff(HandOff handOff) {
        Set<RemoteAcquisition> set = waiting.get(handOff.token()); // the map also holds names' signal keys
        if (set != null) {
            set.stream().filter(a -> a.token.equals(handOff.token())).forEach(a -> a.handOff(handOff));
        }
    }

    /** A key comparing backends by identity. */
    private record Identity(LockBackend backend) {

        @Override
        public boolean equals(Object o) {
            return o instanceof Identity other && other.backend == backend;
        }

        @Override
        public int hashCode() {
            return System.identityHashCode(backend);
        }
    }
}
