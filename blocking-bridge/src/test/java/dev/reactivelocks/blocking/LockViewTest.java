package dev.reactivelocks.blocking;

import static dev.reactivelocks.blocking.Conditions.await;
import static dev.reactivelocks.blocking.Conditions.awaitIdle;
import static dev.reactivelocks.blocking.Conditions.awaitParked;
import static dev.reactivelocks.blocking.Conditions.awaitPending;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.reactivelocks.IllegalLockStateException;
import dev.reactivelocks.InProcessLockService;
import dev.reactivelocks.LockHandle;
import dev.reactivelocks.LockOptions;
import dev.reactivelocks.LockService;
import dev.reactivelocks.LockStats;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.locks.Lock;
import java.util.concurrent.locks.ReadWriteLock;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import reactor.test.StepVerifier;

class LockViewTest {

    private final InProcessLockService service = LockService.builder().build();
    private final BlockingLockService locks = BlockingLockService.of(service);
    private final ExecutorService threads = Executors.newCachedThreadPool();

    @AfterEach
    void tearDown() {
        threads.shutdownNow();
        service.dispose();
    }

    private static <T> T get(Future<T> future) throws Exception {
        return future.get(Conditions.WAIT.toSeconds(), TimeUnit.SECONDS);
    }

    private static Throwable failure(Future<?> future) throws Exception {
        try {
            get(future);
        } catch (ExecutionException e) {
            return e.getCause();
        }
        throw new AssertionError("completed without failure");
    }

    @Test
    void lockExcludesReactiveHoldersUntilUnlock() throws Exception {
        Lock lock = locks.asLock("orders");
        lock.lock();
        try {
            StepVerifier.create(service.tryAcquire("orders")).expectComplete().verify(Duration.ofSeconds(1));
        } finally {
            lock.unlock();
        }
        StepVerifier.create(service.tryAcquire("orders").flatMap(LockHandle::release))
                .expectComplete()
                .verify(Duration.ofSeconds(1));
        assertThat(service.size()).isZero();
    }

    @Test
    void unlockByAThreadThatDoesNotHoldItThrowsIllegalMonitorStateException() throws Exception {
        Lock lock = locks.asLock("orders");
        assertThatThrownBy(lock::unlock)
                .isInstanceOf(IllegalMonitorStateException.class)
                .hasMessage("Lock 'orders' (EXCLUSIVE) is not held by thread '" + Thread.currentThread().getName()
                        + "'; only the thread that locked it may unlock it");

        lock.lock();
        Future<?> foreign = threads.submit(lock::unlock);
        assertThat(failure(foreign)).isInstanceOf(IllegalMonitorStateException.class);
        assertThat(service.stats("orders")).get().extracting(LockStats::holders).isEqualTo(1); // still held
        lock.unlock();
        assertThat(service.size()).isZero();
        assertThatThrownBy(lock::unlock).isInstanceOf(IllegalMonitorStateException.class); // only once
    }

    @Test
    void unlockingTheOtherModeThrowsIllegalMonitorStateException() {
        ReadWriteLock rw = locks.asReadWriteLock("orders");
        rw.readLock().lock();
        assertThatThrownBy(() -> rw.writeLock().unlock())
                .isInstanceOf(IllegalMonitorStateException.class)
                .hasMessage("Lock 'orders' is held SHARED by thread '" + Thread.currentThread().getName()
                        + "', not EXCLUSIVE; unlock the read lock instead");
        rw.readLock().unlock();
        assertThat(service.size()).isZero();
    }

    @Test
    void relockingByTheHoldingThreadThrowsInsteadOfDeadlocking() throws Exception {
        Lock lock = locks.asLock("orders");
        String thread = Thread.currentThread().getName();
        lock.lock();
        try {
            String message = "Lock 'orders' is already held (EXCLUSIVE) by thread '" + thread
                    + "'; locks are not reentrant";
            assertThatThrownBy(lock::lock).isInstanceOf(IllegalLockStateException.class).hasMessage(message)
                    .satisfies(e -> assertThat(((IllegalLockStateException) e).lockName()).isEqualTo("orders"));
            assertThatThrownBy(lock::lockInterruptibly).isInstanceOf(IllegalLockStateException.class).hasMessage(message);
            assertThatThrownBy(lock::tryLock).isInstanceOf(IllegalLockStateException.class).hasMessage(message);
            assertThatThrownBy(() -> lock.tryLock(1, TimeUnit.SECONDS)).isInstanceOf(IllegalLockStateException.class)
                    .hasMessage(message);
            // another view of the same service and name knows the owner too
            assertThatThrownBy(() -> BlockingLockService.of(service).asReadWriteLock("orders").readLock().lock())
                    .isInstanceOf(IllegalLockStateException.class);
            assertThat(service.stats("orders")).get().extracting(LockStats::holders, LockStats::pending)
                    .containsExactly(1, 0);
        } finally {
            lock.unlock();
        }
        assertThat(service.size()).isZero();
    }

    @Test
    void upgradingAReadLockThrowsInsteadOfDeadlocking() {
        ReadWriteLock rw = locks.asReadWriteLock("orders");
        rw.readLock().lock();
        try {
            assertThatThrownBy(() -> rw.writeLock().lock())
                    .isInstanceOf(IllegalLockStateException.class)
                    .hasMessage("Lock 'orders' is held SHARED by thread '" + Thread.currentThread().getName()
                            + "'; upgrading to EXCLUSIVE would deadlock");
        } finally {
            rw.readLock().unlock();
        }
    }

    @Test
    void viewsFromDifferentBlockingServicesOfOneServiceShareTheOwner() {
        BlockingLockService.of(service).asLock("orders").lock();
        BlockingLockService.of(service).asLock("orders").unlock();
        assertThat(service.size()).isZero();
    }

    @Test
    void differentNamesAndServicesAreIndependent() throws Exception {
        InProcessLockService other = LockService.builder().build();
        try {
            Lock a = locks.asLock("a");
            Lock b = locks.asLock("b");
            Lock otherA = BlockingLockService.of(other).asLock("a");
            a.lock();
            b.lock();
            otherA.lock(); // a different service: a different lock, not a re-entry
            otherA.unlock();
            b.unlock();
            a.unlock();
            assertThat(service.size()).isZero();
            assertThat(other.size()).isZero();
        } finally {
            other.dispose();
        }
    }

    @Test
    void readLocksAreSharedAcrossThreadsAndTheWriteLockWaitsForAll() throws Exception {
        ReadWriteLock rw = locks.asReadWriteLock("orders");
        rw.readLock().lock();
        Future<Boolean> otherReader = threads.submit(() -> {
            boolean got = rw.readLock().tryLock();
            if (got) {
                rw.readLock().unlock();
            }
            return got;
        });
        assertThat(get(otherReader)).isTrue();

        List<String> events = new CopyOnWriteArrayList<>();
        Future<?> writer = threads.submit(() -> {
            rw.writeLock().lock();
            events.add("writer holds");
            rw.writeLock().unlock();
        });
        awaitPending(service, "orders", 1);
        events.add("reader unlocks");
        rw.readLock().unlock();
        get(writer);
        assertThat(events).containsExactly("reader unlocks", "writer holds");
        assertThat(service.size()).isZero();
    }

    @Test
    void lockInterruptiblyAnswersInterruptAndLeavesNothingQueuedOrHeld() throws Exception {
        Lock lock = locks.asLock("orders");
        LockHandle holder = service.acquire("orders").block(Duration.ofSeconds(1));
        AtomicReference<Thread> waiter = new AtomicReference<>();
        Future<?> waiting = threads.submit(() -> {
            waiter.set(Thread.currentThread());
            lock.lockInterruptibly();
            return null;
        });
        awaitPending(service, "orders", 1);
        waiter.get().interrupt();
        assertThat(failure(waiting)).isInstanceOf(InterruptedException.class);
        assertThat(service.stats("orders")).get().extracting(LockStats::pending).isEqualTo(0);
        holder.release().block(Duration.ofSeconds(1));
        awaitIdle(service, "orders");

        // the interrupted thread holds nothing: unlock from it is refused
        Future<?> unlock = threads.submit(() -> {
            Thread.interrupted();
            lock.unlock();
        });
        assertThat(failure(unlock)).isInstanceOf(IllegalMonitorStateException.class);
    }

    @Test
    void lockInterruptiblyOnAnInterruptedThreadThrowsAtOnce() {
        Lock lock = locks.asLock("orders");
        Thread.currentThread().interrupt();
        assertThatThrownBy(lock::lockInterruptibly).isInstanceOf(InterruptedException.class);
        assertThat(Thread.currentThread().isInterrupted()).isFalse();
        assertThat(service.size()).isZero();
    }

    @Test
    void lockIgnoresInterruptsAndRestoresTheStatusAfterTheGrant() throws Exception {
        Lock lock = locks.asLock("orders");
        LockHandle holder = service.acquire("orders").block(Duration.ofSeconds(1));
        AtomicReference<Thread> waiter = new AtomicReference<>();
        Future<Boolean> waiting = threads.submit(() -> {
            waiter.set(Thread.currentThread());
            lock.lock();
            boolean interrupted = Thread.currentThread().isInterrupted();
            lock.unlock();
            return interrupted;
        });
        awaitPending(service, "orders", 1);
        waiter.get().interrupt();
        awaitParked(waiter.get()); // parks again: still waiting
        assertThat(waiting.isDone()).isFalse();
        assertThat(service.stats("orders")).get().extracting(LockStats::pending).isEqualTo(1);

        holder.release().block(Duration.ofSeconds(1));
        assertThat(get(waiting)).isTrue();
        awaitIdle(service, "orders");
    }

    @Test
    void timedTryLockReturnsFalseWhenTheTimePassesAndLeavesNothingQueued() throws Exception {
        Lock lock = locks.asLock("orders");
        LockHandle holder = service.acquire("orders").block(Duration.ofSeconds(1));
        long start = System.nanoTime();
        assertThat(lock.tryLock(100, TimeUnit.MILLISECONDS)).isFalse();
        long elapsedMillis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
        assertThat(elapsedMillis).isGreaterThanOrEqualTo(100L);
        assertThat(service.stats("orders")).get().extracting(LockStats::pending).isEqualTo(0);
        assertThat(lock.tryLock(0, TimeUnit.SECONDS)).isFalse();
        assertThat(lock.tryLock(-1, TimeUnit.SECONDS)).isFalse();
        assertThat(lock.tryLock()).isFalse();
        assertThat(service.stats("orders")).get().extracting(LockStats::pending).isEqualTo(0);

        holder.release().block(Duration.ofSeconds(1));
        assertThat(lock.tryLock(0, TimeUnit.SECONDS)).isTrue();
        lock.unlock();
        assertThat(lock.tryLock()).isTrue();
        lock.unlock();
        awaitIdle(service, "orders");
    }

    @Test
    void timedTryLockIsGrantedWhenTheHolderReleasesInTime() throws Exception {
        Lock lock = locks.asLock("orders");
        LockHandle holder = service.acquire("orders").block(Duration.ofSeconds(1));
        Future<Boolean> waiting = threads.submit(() -> {
            boolean got = lock.tryLock(30, TimeUnit.SECONDS);
            if (got) {
                lock.unlock();
            }
            return got;
        });
        awaitPending(service, "orders", 1);
        holder.release().block(Duration.ofSeconds(1));
        assertThat(get(waiting)).isTrue();
        awaitIdle(service, "orders");
    }

    @Test
    void timedTryLockAnswersInterruptPromptly() throws Exception {
        Lock lock = locks.asLock("orders");
        LockHandle holder = service.acquire("orders").block(Duration.ofSeconds(1));
        AtomicReference<Thread> waiter = new AtomicReference<>();
        Future<Boolean> waiting = threads.submit(() -> {
            waiter.set(Thread.currentThread());
            return lock.tryLock(1, TimeUnit.HOURS);
        });
        awaitPending(service, "orders", 1);
        waiter.get().interrupt();
        assertThat(failure(waiting)).isInstanceOf(InterruptedException.class);
        assertThat(service.stats("orders")).get().extracting(LockStats::pending).isEqualTo(0);
        holder.release().block(Duration.ofSeconds(1));
        awaitIdle(service, "orders");
    }

    @Test
    void newConditionIsUnsupported() {
        assertThatThrownBy(() -> locks.asLock("orders").newCondition())
                .isInstanceOf(UnsupportedOperationException.class)
                .hasMessage("Lock 'orders': conditions are not supported by LockService locks; "
                        + "use a java.util.concurrent lock or a queue for signalling");
        assertThatThrownBy(() -> locks.asReadWriteLock("orders").readLock().newCondition())
                .isInstanceOf(UnsupportedOperationException.class);
    }

    @Test
    void unlockWaitsUntilTheNextWaiterIsGranted() throws Exception {
        Lock lock = locks.asLock("orders");
        lock.lock();
        Future<LockHandle> next = threads.submit(() -> service.acquire("orders", LockOptions.exclusive())
                .block(Duration.ofSeconds(10)));
        awaitPending(service, "orders", 1);
        lock.unlock();
        // in-process release is synchronous: when unlock returns, the next waiter holds the lock
        assertThat(service.stats("orders")).get().extracting(LockStats::holders, LockStats::pending)
                .containsExactly(1, 0);
        get(next).release().block(Duration.ofSeconds(1));
        await("idle", () -> service.size() == 0);
    }
}
