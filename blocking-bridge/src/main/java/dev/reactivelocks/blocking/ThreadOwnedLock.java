package dev.reactivelocks.blocking;

import dev.reactivelocks.IllegalLockStateException;
import dev.reactivelocks.LockHandle;
import dev.reactivelocks.LockMode;
import dev.reactivelocks.LockOptions;
import dev.reactivelocks.LockService;
import dev.reactivelocks.internal.Waiter;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.Lock;
import org.jspecify.annotations.Nullable;

/**
 * The {@link Lock} view of one name and mode: {@code java.util.concurrent} semantics on top of a
 * {@link LockService}, with the owner being the thread (see {@link BlockingLockService#asReadWriteLock}).
 *
 * <p>Each thread records the handles it holds through these views in a thread-local map keyed by service
 * identity and name; the map exists only while the thread holds something. Only the owning thread ever
 * reads or writes its map, so no synchronisation is needed, and a thread that holds nothing finds no entry
 * and gets {@link IllegalMonitorStateException} from {@link #unlock()}.
 */
final class ThreadOwnedLock implements Lock {

    private static final ThreadLocal<Map<HoldKey, BlockingLockHandle>> HOLDS = new ThreadLocal<>();

    private final BlockingLockService owner;
    private final String name;
    private final LockMode mode;
    private final LockOptions options;
    private final HoldKey key;

    ThreadOwnedLock(BlockingLockService owner, String name, LockMode mode) {
        this.owner = owner;
        this.name = name;
        this.mode = mode;
        this.options = LockOptions.of(mode);
        this.key = new HoldKey(owner.lockService(), name);
    }

    @Override
    public void lock() {
        checkNotHeld();
        try {
            hold(owner.acquire(method("lock"), name, options, false, Waiter.OnInterrupt.IGNORE, false));
        } catch (InterruptedException impossible) {
            throw new AssertionError(impossible);
        }
    }

    @Override
    public void lockInterruptibly() throws InterruptedException {
        checkNotHeld();
        hold(owner.acquire(method("lockInterruptibly"), name, options, false, Waiter.OnInterrupt.THROW, false));
    }

    @Override
    public boolean tryLock() {
        checkNotHeld();
        try {
            return hold(owner.acquire(method("tryLock"), name, options, true, Waiter.OnInterrupt.CANCEL, false));
        } catch (InterruptedException impossible) {
            throw new AssertionError(impossible);
        }
    }

    @Override
    public boolean tryLock(long time, TimeUnit unit) throws InterruptedException {
        Objects.requireNonNull(unit, "unit");
        checkNotHeld();
        long nanos = unit.toNanos(time);
        if (nanos <= 0) {
            return hold(owner.acquire(method("tryLock"), name, options, true, Waiter.OnInterrupt.THROW, true));
        }
        return hold(owner.acquire(method("tryLock"), name, options.timeout(Duration.ofNanos(nanos)), false,
                Waiter.OnInterrupt.THROW, true));
    }

    @Override
    public void unlock() {
        Map<HoldKey, BlockingLockHandle> holds = HOLDS.get();
        BlockingLockHandle held = holds == null ? null : holds.get(key);
        if (held == null) {
            throw new IllegalMonitorStateException("Lock '" + name + "' (" + mode + ") is not held by thread '"
                    + Thread.currentThread().getName() + "'; only the thread that locked it may unlock it");
        }
        if (held.mode() != mode) {
            throw new IllegalMonitorStateException("Lock '" + name + "' is held " + held.mode() + " by thread '"
                    + Thread.currentThread().getName() + "', not " + mode + "; unlock the "
                    + (held.mode() == LockMode.SHARED ? "read" : "write") + " lock instead");
        }
        holds.remove(key);
        if (holds.isEmpty()) {
            HOLDS.remove();
        }
        held.release();
    }

    /**
     * Not supported: the service's locks are not monitors of this JVM.
     *
     * @throws UnsupportedOperationException always
     */
    @Override
    public Condition newCondition() {
        throw new UnsupportedOperationException("Lock '" + name + "': conditions are not supported by "
                + "LockService locks; use a java.util.concurrent lock or a queue for signalling");
    }

    private String method(String lockMethod) {
        return (mode == LockMode.EXCLUSIVE ? "Lock." : "ReadWriteLock.readLock().") + lockMethod;
    }

    private void checkNotHeld() {
        Map<HoldKey, BlockingLockHandle> holds = HOLDS.get();
        BlockingLockHandle held = holds == null ? null : holds.get(key);
        if (held == null) {
            return;
        }
        String thread = Thread.currentThread().getName();
        String message = held.mode() == LockMode.SHARED && mode == LockMode.EXCLUSIVE
                ? "Lock '" + name + "' is held SHARED by thread '" + thread + "'; upgrading to EXCLUSIVE would deadlock"
                : "Lock '" + name + "' is already held (" + held.mode() + ") by thread '" + thread
                        + "'; locks are not reentrant";
        throw new IllegalLockStateException(name, message);
    }

    private boolean hold(@Nullable LockHandle handle) {
        if (handle == null) {
            return false;
        }
        Map<HoldKey, BlockingLockHandle> holds = HOLDS.get();
        if (holds == null) {
            holds = new HashMap<>(4);
            HOLDS.set(holds);
        }
        holds.put(key, new BlockingLockHandle(handle));
        return true;
    }

    @Override
    public String toString() {
        return "Lock{name='" + name + "', mode=" + mode + ", service=" + owner.lockService() + "}";
    }

    /** Service identity and lock name. */
    private static final class HoldKey {

        private final LockService service;
        private final String name;

        HoldKey(LockService service, String name) {
            this.service = service;
            this.name = name;
        }

        @Override
        public boolean equals(@Nullable Object o) {
            return o instanceof HoldKey other && other.service == service && other.name.equals(name);
        }

        @Override
        public int hashCode() {
            return 31 * System.identityHashCode(service) + name.hashCode();
        }
    }
}
