package dev.reactivelocks;

import org.jspecify.annotations.Nullable;

/**
 * The state of one lock name: its holders and its FIFO of waiters (an intrusive doubly-linked list, so a
 * cancelled waiter leaves in O(1)).
 *
 * <p>Not thread-safe: every method runs inside {@code ConcurrentHashMap.compute} for the name, which
 * serializes all transitions of one name and removes the entry atomically when it becomes idle.
 *
 * <p>Grant rule (fair, writer preference): the head of the queue is granted when it is compatible with
 * the holders; consecutive shared waiters at the head are granted together; a waiting exclusive waiter
 * stops later shared waiters from joining current shared holders. A shared waiter with a permit limit
 * ({@link LockOptions#permits(int)}) is compatible only while fewer than its limit hold the name. A newcomer is granted at once only
 * when nobody waits and it is compatible with the holders.
 */
final class LockQueue {

    private int sharedHolders;
    private boolean exclusiveHeld;
    private int pending;
    /** The fencing token of the latest grant, and when the current held period began (service clock, ms). */
    private long lastToken;
    private long heldSinceMillis;
    private @Nullable Acquisition head;
    private @Nullable Acquisition tail;

    boolean idle() {
        return sharedHolders == 0 && !exclusiveHeld && head == null;
    }

    int pending() {
        return pending;
    }

    /** Whether a newcomer in {@code mode} may be granted now without overtaking a waiter. */
    boolean admitsNewcomer(Acquisition a) {
        return head == null && compatible(a);
    }

    private boolean compatible(Acquisition a) {
        return a.mode == LockMode.SHARED
                ? !exclusiveHeld && sharedHolders < a.maxHolders
                : !exclusiveHeld && sharedHolders == 0;
    }

    /** Makes the granted {@code a} a holder. */
    void hold(Acquisition a) {
        if (sharedHolders == 0 && !exclusiveHeld) {
            heldSinceMillis = a.service.clockMillis();
        }
        lastToken = a.fencingToken();
        if (a.mode == LockMode.SHARED) {
            sharedHolders++;
        } else {
            exclusiveHeld = true;
        }
    }

    void unhold(LockMode mode) {
        if (mode == LockMode.SHARED) {
            sharedHolders--;
        } else {
            exclusiveHeld = false;
        }
    }

    void link(Acquisition a) {
        a.prev = tail;
        a.next = null;
        if (tail == null) {
            head = a;
        } else {
            tail.next = a;
        }
        tail = a;
        a.linked = true;
        pending++;
    }

    /** Removes {@code a} if it is still queued; returns whether it was. */
    boolean unlink(Acquisition a) {
        if (!a.linked) {
            return false;
        }
        Acquisition p = a.prev;
        Acquisition n = a.next;
        if (p == null) {
            head = n;
        } else {
            p.next = n;
        }
        if (n == null) {
            tail = p;
        } else {
            n.prev = p;
        }
        a.prev = null;
        a.next = null;
        a.linked = false;
        pending--;
        return true;
    }

    /**
     * Grants every waiter at the head that the grant rule admits, handing each to the service.
     * Waiters whose subscriber cancelled concurrently are dropped from the queue.
     */
    void drain(DefaultInProcessLockService service) {
        Acquisition a;
        while ((a = head) != null && compatible(a)) {
            unlink(a);
            service.grantLocked(this, a);
        }
    }

    /** Removes every waiter that is still pending, adding it to {@code out}. */
    void removeAll(java.util.List<Acquisition> out) {
        Acquisition a;
        while ((a = head) != null) {
            unlink(a);
            if (a.casState(Acquisition.PENDING, Acquisition.CANCELLED)) {
                out.add(a);
            }
        }
    }

    /** @return the state of the held lock {@code name}, or null while nobody holds it */
    @Nullable LockInfo info(String name) {
        if (sharedHolders == 0 && !exclusiveHeld) {
            return null;
        }
        return LockInfo.builder(name, exclusiveHeld ? LockMode.EXCLUSIVE : LockMode.SHARED,
                        exclusiveHeld ? 1 : sharedHolders)
                .fencingToken(lastToken)
                .heldSince(java.time.Instant.ofEpochMilli(heldSinceMillis))
                .waiting(pending)
                .build();
    }

    LockStats stats(String name) {
        return new LockStats(name, exclusiveHeld ? 1 : sharedHolders, exclusiveHeld, pending);
    }
}
