package dev.reactivelocks;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import org.jspecify.annotations.Nullable;

/**
 * The state of one lock name: its holders and its FIFO of waiters (an intrusive doubly-linked list, so a
 * cancelled waiter leaves in O(1)).
 *
 * <p>Not thread-safe, except for the fast path: every other method runs inside
 * {@code ConcurrentHashMap.compute} for the name (the <em>slow path</em>), which serializes all transitions
 * of one name and removes the entry atomically when it becomes idle (or keeps it idle, see
 * {@link InProcessLockService}).
 *
 * <p><b>Fast path.</b> An uncontended exclusive acquire and its release need no map update: one CAS on
 * {@link #word} moves an idle name FREE → FAST (held by {@link #fastHolder}) and back. The word also carries
 * the name's latest fencing token: a fast acquirer installs the next one by its CAS, so fencing tokens are
 * counted per name, with no counter shared by the names of the service; a fast acquirer whose token was
 * read before another grant of the name cannot install it (the word changed): tokens stay strictly
 * increasing per name. A new entry starts from the service's floor, which is raised to the last token of
 * every entry removed from the map ({@link DefaultInProcessLockService}), so a name keeps counting up
 * when its entry is removed and made again.
 * <pre>
 *            fast acquire (CAS)              fast release (CAS)
 *   FREE ──────────────────────► FAST ───────────────────────► FREE
 *    │  ▲                          │
 *    │  │ idle, kept               │ any slow-path step of the name (a waiter, inspect, downgrade): the
 *    ▼  │                          ▼ fast hold becomes a regular exclusive hold; its release goes slow
 *   SLOW (the fields below are the truth) ──── idle, removed from the map ──► DEAD (fast path refused)
 * </pre>
 * Only the slow path moves the word to or from SLOW and DEAD, in the name's critical section; the fast path
 * moves only FREE ↔ FAST. A waiter links only in SLOW, so a fast acquirer never overtakes it (FIFO).
 *
 * <p>Grant rule (fair, writer preference): the head of the queue is granted when it is compatible with
 * the holders; consecutive shared waiters at the head are granted together; a waiting exclusive waiter
 * stops later shared waiters from joining current shared holders. A shared waiter with a permit limit
 * ({@link LockOptions#permits(int)}) is compatible only while fewer than its limit hold the name. A newcomer is granted at once only
 * when nobody waits and it is compatible with the holders.
 */
final class LockQueue {

    static final long FREE = 0;
    static final long FAST = 1;
    static final long SLOW = 2;
    static final long DEAD = 3;
    private static final long STATE = 3;
    private static final int TOKEN_SHIFT = 2;

    private static final VarHandle WORD;
    private static final VarHandle FAST_HOLDER;

    static {
        try {
            MethodHandles.Lookup l = MethodHandles.lookup();
            WORD = l.findVarHandle(LockQueue.class, "word", long.class);
            FAST_HOLDER = l.findVarHandle(LockQueue.class, "fastHolder", Acquisition.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    /** The latest fencing token of the name (high bits) and FREE, FAST, SLOW or DEAD (low two bits). */
    private volatile long word;
    /**
     * The holder of a FAST word: written (release store) by it right after its CAS; cleared by its fast
     * release while it still owns the word, and written back if that release then finds the word taken
     * over (the take-over waits for it).
     */
    private volatile @Nullable Acquisition fastHolder;
    /** Kept in the map while idle (counted by the service); slow path only (the sweep reads it as a hint). */
    boolean retained;

    private int sharedHolders;
    private boolean exclusiveHeld;
    private int pending;
    /** The fencing token of the latest grant, and when the current held period began ({@link CoarseClock#HOLDS}, ms). */
    private long lastToken;
    private long heldSinceMillis;
    /**
     * When the FAST hold began ({@link CoarseClock#HOLDS}, ms): written by its holder after its CAS and before it
     * publishes itself in {@link #fastHolder}; read by the take-over once it sees that holder there.
     */
    private long fastHeldSinceMillis;
    private @Nullable Acquisition head;
    private @Nullable Acquisition tail;

    /** @param floor the service's token floor: the first token of this entry is above it */
    LockQueue(long floor) {
        word = (floor << TOKEN_SHIFT) | FREE;
    }

    boolean idle() {
        return sharedHolders == 0 && !exclusiveHeld && head == null;
    }

    /** @return whether the name has neither holders nor waiters (read outside the critical section) */
    boolean looksIdle() {
        return (word & STATE) == FREE;
    }

    /**
     * Fast path, outside any lock: grants {@code a} (exclusive) when the name is FREE.
     *
     * @return whether {@code a} holds the word now; its token and hold start are set
     */
    boolean tryFast(Acquisition a) {
        long w = word;
        if ((w & STATE) != FREE) {
            return false;
        }
        long token = (w >>> TOKEN_SHIFT) + 1;
        a.prepareFast(token); // visible to a slow-path take-over through the CAS below
        long now = CoarseClock.HOLDS.millis();
        if (!WORD.compareAndSet(this, w, (token << TOKEN_SHIFT) | FAST)) {
            return false;
        }
        // this hold owns the word: nobody else writes the field until the take-over read it or the hold ended
        fastHeldSinceMillis = now;
        FAST_HOLDER.setRelease(this, a); // publishes the field; the take-over reads it after seeing a here
        return true;
    }

    /** Fast path: {@code a}'s FAST hold ends, unless the slow path took it over (then release through it). */
    boolean releaseFast(Acquisition a) {
        long held = (a.fencingToken() << TOKEN_SHIFT) | FAST;
        // cleared while this hold owns the word: a later fast holder's write cannot be lost to it
        FAST_HOLDER.setRelease(this, null);
        if (!WORD.compareAndSet(this, held, held - FAST + FREE)) {
            FAST_HOLDER.setRelease(this, a); // taken over meanwhile: the take-over waits for its holder
            return false;
        }
        return true;
    }

    /**
     * First thing of every slow-path step, in the critical section: the word becomes SLOW, and a FAST hold
     * becomes a regular exclusive hold (its holder's release then takes the slow path).
     */
    void takeOver() {
        for (;;) {
            long w = word;
            long state = w & STATE;
            if (state == SLOW) {
                return;
            }
            if (WORD.compareAndSet(this, w, (w & ~STATE) | SLOW)) {
                long token = w >>> TOKEN_SHIFT;
                lastToken = token; // the word carries the latest token: fast grants do not update the field
                if (state == FAST) {
                    Acquisition h;
                    // the CAS winner writes fastHolder right after its CAS; a stale holder has another token
                    while ((h = fastHolder) == null || h.fencingToken() != token) {
                        Thread.onSpinWait();
                    }
                    exclusiveHeld = true;
                    heldSinceMillis = fastHeldSinceMillis;
                    FAST_HOLDER.compareAndSet(this, h, null);
                }
                return;
            }
        }
    }

    /**
     * Last thing of a slow-path step that left the name idle: hands it to the fast path (kept in the map) or
     * marks it DEAD (removed from the map).
     */
    void settleIdle(boolean keep) {
        word = (lastToken << TOKEN_SHIFT) | (keep ? FREE : DEAD);
    }

    /**
     * Slow path, in the release of {@code a}: drops the reference to it that its fast release may have
     * written back after a take-over had already read and cleared it.
     */
    void forgetFastHolder(Acquisition a) {
        FAST_HOLDER.compareAndSet(this, a, null);
    }

    /** @return the token of the name's next grant; slow path (the fast path takes it from the word) */
    long nextToken() {
        return lastToken + 1;
    }

    /** @return the token of the name's latest grant; slow path */
    long lastToken() {
        return lastToken;
    }

    int pending() {
        return pending;
    }

    /** Whether a newcomer in {@code mode} may be granted now without overtaking a waiter. */
    boolean admitsNewcomer(Acquisition a) {
        return head == null && compatible(a);
    }

    private boolean compatible(Acquisition a) {
        return a.mode() == LockMode.SHARED
                ? !exclusiveHeld && sharedHolders < a.maxHolders()
                : !exclusiveHeld && sharedHolders == 0;
    }

    /** Makes the granted {@code a} a holder. */
    void hold(Acquisition a) {
        if (sharedHolders == 0 && !exclusiveHeld) {
            heldSinceMillis = CoarseClock.HOLDS.millis();
        }
        lastToken = a.fencingToken();
        if (a.mode() == LockMode.SHARED) {
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
     *
     * @return whether a grant was pushed on this thread's trampoline
     */
    boolean drain(DefaultInProcessLockService service) {
        boolean granted = false;
        Acquisition a;
        while ((a = head) != null && compatible(a)) {
            unlink(a);
            granted |= service.grantLocked(this, a);
        }
        return granted;
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
