package dev.reactivelocks.tck;

import static org.assertj.core.api.Assertions.assertThat;

import dev.reactivelocks.LockHandle;
import dev.reactivelocks.LockOptions;
import dev.reactivelocks.LockService;
import dev.reactivelocks.distributed.DistributedLockService;
import dev.reactivelocks.distributed.InMemoryLockBackend;
import dev.reactivelocks.file.FileLockConfig;
import dev.reactivelocks.file.FileLockService;
import java.lang.ref.WeakReference;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Function;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.reactivestreams.Subscriber;
import org.reactivestreams.Subscription;
import reactor.core.CoreSubscriber;

/**
 * Reactive Streams rules the TCK checks only on publishers of three or more elements (its cases skip a
 * {@code Mono}), checked here on the case that matters for a lock: an acquisition that is waiting.
 * Rule 3.9 (a non-positive request signals {@link IllegalArgumentException}), 3.6 (requests after a cancel
 * are no-ops) and 3.13 (a cancelled subscriber is no longer referenced), each also proving that the
 * acquisition left the queue: the lock goes to the next waiter.
 */
class PendingAcquisitionRulesTest {

    private static final Duration WAIT = Duration.ofSeconds(30);

    @TempDir
    static Path directory;

    private final List<LockService> services = new CopyOnWriteArrayList<>();

    static Stream<Arguments> services() {
        return Stream.of(
                Arguments.of(named("in-process", dir -> LockService.inProcess())),
                Arguments.of(named("file", dir -> FileLockService.create(
                        FileLockConfig.builder().lockDirectory(dir).build()))),
                Arguments.of(named("distributed (in-memory backend)", dir -> DistributedLockService.builder(
                        InMemoryLockBackend.create()).build())));
    }

    private static org.junit.jupiter.api.Named<Function<Path, LockService>> named(
            String name, Function<Path, LockService> factory) {
        return org.junit.jupiter.api.Named.of(name, factory);
    }

    @AfterEach
    void dispose() {
        services.forEach(s -> s.disposeLater().block(WAIT));
    }

    private LockService open(Function<Path, LockService> factory) {
        LockService s = factory.apply(directory);
        services.add(s);
        return s;
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("services")
    void nonPositiveFirstRequestSignalsIllegalArgumentWithoutTakingTheLock(Function<Path, LockService> factory) {
        LockService locks = open(factory);
        for (long n : new long[] {0, -1, Long.MIN_VALUE}) {
            String name = "first-request" + n;
            Recorder r = new Recorder();
            locks.acquire(name).subscribe(r);
            r.subscription.request(n);
            assertThat(r.error).as("request(%d)", n).isInstanceOf(IllegalArgumentException.class);
            assertThat(r.values).isEmpty();
            assertFree(locks, name);
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("services")
    void nonPositiveRequestOfAWaiterSignalsIllegalArgumentAndLeavesTheQueue(Function<Path, LockService> factory) {
        LockService locks = open(factory);
        LockHandle holder = locks.acquire("busy").block(WAIT);
        Recorder r = waiter(locks, "busy");
        r.subscription.request(0);
        assertThat(r.error).isInstanceOf(IllegalArgumentException.class);
        holder.release().block(WAIT);
        assertFree(locks, "busy");
        assertThat(r.values).as("never granted to the failed waiter").isEmpty();
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("services")
    void requestsAfterCancelAreNoOps(Function<Path, LockService> factory) {
        LockService locks = open(factory);
        LockHandle holder = locks.acquire("cancelled").block(WAIT);
        Recorder waiting = waiter(locks, "cancelled");
        waiting.subscription.cancel();
        waiting.subscription.request(1);
        waiting.subscription.cancel();
        Recorder never = new Recorder();
        locks.acquire("cancelled-first").subscribe(never);
        never.subscription.cancel();
        never.subscription.request(1);
        holder.release().block(WAIT);
        assertFree(locks, "cancelled");
        assertFree(locks, "cancelled-first");
        assertThat(waiting.signals()).isZero();
        assertThat(never.signals()).isZero();
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("services")
    void nonPositiveRequestsAfterACancelOrAFinalSignalAreNoOps(Function<Path, LockService> factory)
            throws InterruptedException {
        LockService locks = open(factory);
        LockHandle holder = locks.acquire("bad-request").block(WAIT);
        // core subscribers: a plain Subscriber is wrapped by Reactor's StrictSubscriber, which answers request(0)
        // itself; these reach the acquisition's own subscription
        Recorder cancelled = new CoreRecorder();
        locks.acquire("bad-request").subscribe(cancelled);
        cancelled.subscription.request(1);
        assertThat(cancelled.signals()).as("waiting").isZero();
        cancelled.subscription.cancel();
        cancelled.subscription.request(0);
        assertThat(cancelled.signals()).as("nothing after a cancel (rule 3.6)").isZero();

        Recorder busy = new CoreRecorder();
        locks.tryAcquire("bad-request").subscribe(busy);
        busy.subscription.request(1);
        awaitSignal(busy);
        busy.subscription.request(-1);
        assertThat(busy.completed).as("a busy tryAcquire completes empty").isTrue();
        assertThat(busy.signals()).as("one final signal only (rule 1.7)").isEqualTo(1);

        Recorder timedOut = new CoreRecorder();
        locks.acquire("bad-request", LockOptions.exclusive().timeout(Duration.ofMillis(1))).subscribe(timedOut);
        timedOut.subscription.request(1);
        awaitSignal(timedOut);
        timedOut.subscription.request(0);
        assertThat(timedOut.errors).as("one final signal only (rule 1.7)").isEqualTo(1);
        assertThat(timedOut.signals()).isEqualTo(1);

        holder.release().block(WAIT);
        assertFree(locks, "bad-request");
    }

    private static void awaitSignal(Recorder r) throws InterruptedException {
        for (int i = 0; i < 2_000 && r.signals() == 0; i++) {
            Thread.sleep(5);
        }
        assertThat(r.signals()).as("signalled within 10 s").isPositive();
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("services")
    void aCancelledWaiterIsNoLongerReferenced(Function<Path, LockService> factory) throws InterruptedException {
        LockService locks = open(factory);
        LockHandle holder = locks.acquire("gc").block(WAIT);
        WeakReference<Recorder> ref = subscribeAndCancel(locks);
        for (int i = 0; i < 100 && ref.get() != null; i++) {
            System.gc();
            Thread.sleep(50);
        }
        assertThat(ref.get()).as("the cancelled subscriber was collected").isNull();
        holder.release().block(WAIT);
        assertFree(locks, "gc");
    }

    private static WeakReference<Recorder> subscribeAndCancel(LockService locks) {
        Recorder r = new Recorder();
        locks.acquire("gc", LockOptions.exclusive().timeout(Duration.ofHours(1))).subscribe(r);
        r.subscription.request(1);
        r.subscription.cancel();
        return new WeakReference<>(r);
    }

    /** Subscribes to {@code acquire(name)} of a held name and requests: the subscriber waits. */
    private static Recorder waiter(LockService locks, String name) {
        Recorder r = new Recorder();
        locks.acquire(name).subscribe(r);
        r.subscription.request(1);
        assertThat(r.signals()).as("waiting").isZero();
        return r;
    }

    /** The lock is (or becomes) free: a new acquisition is granted and released. */
    private static void assertFree(LockService locks, String name) {
        LockHandle next = locks.acquire(name, LockOptions.exclusive().timeout(WAIT)).block(WAIT);
        assertThat(next).isNotNull();
        next.release().block(WAIT);
    }

    /** A bare subscriber: requests nothing by itself and records every signal. */
    private static class Recorder implements Subscriber<LockHandle> {
        final List<LockHandle> values = new CopyOnWriteArrayList<>();
        volatile Subscription subscription;
        volatile Throwable error;
        volatile int errors;
        volatile boolean completed;

        @Override
        public void onSubscribe(Subscription s) {
            subscription = s;
        }

        @Override
        public void onNext(LockHandle handle) {
            values.add(handle);
        }

        @Override
        public void onError(Throwable t) {
            error = t;
            errors++;
        }

        @Override
        public void onComplete() {
            completed = true;
        }

        int signals() {
            return values.size() + (error != null ? 1 : 0) + (completed ? 1 : 0);
        }
    }

    /** A recorder that Reactor passes the acquisition's own subscription to, unwrapped. */
    private static final class CoreRecorder extends Recorder implements CoreSubscriber<LockHandle> {
    }
}
