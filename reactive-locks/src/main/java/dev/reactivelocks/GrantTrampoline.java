package dev.reactivelocks;

import org.jspecify.annotations.Nullable;
import reactor.core.Exceptions;
import reactor.core.publisher.Operators;
import reactor.util.context.Context;

/**
 * Delivers grants on the current thread, outside the queue's critical section, iteratively.
 *
 * <p>A granted body often releases synchronously ({@code withLock(name, Mono.just(x))}), and that release
 * grants the next waiter: delivering recursively would grow the stack with the queue length. Grants are
 * instead appended to a per-thread list that the outermost delivery on the thread drains, so a chain of
 * 100,000 synchronous hand-offs runs in constant stack depth, still on the releasing thread.
 */
final class GrantTrampoline {

    private static final ThreadLocal<GrantTrampoline> CURRENT = ThreadLocal.withInitial(GrantTrampoline::new);

    private @Nullable Acquisition head;
    private @Nullable Acquisition tail;
    private boolean draining;

    private GrantTrampoline() {
    }

    /**
     * Appends a granted acquisition; called inside the critical section of its name, once it left the
     * queue (its {@link Acquisition#next} link is this list's from then on).
     */
    static void push(Acquisition a) {
        GrantTrampoline t = CURRENT.get();
        a.next = null;
        if (t.tail == null) {
            t.head = a;
        } else {
            t.tail.next = a;
        }
        t.tail = a;
    }

    /** Delivers everything pushed on this thread, unless an outer frame of this thread already does. */
    static void drain() {
        GrantTrampoline t = CURRENT.get();
        if (t.draining || t.head == null) {
            return;
        }
        t.draining = true;
        try {
            Acquisition a;
            while ((a = t.head) != null) {
                t.head = a.next;
                if (t.head == null) {
                    t.tail = null;
                }
                a.next = null;
                try {
                    a.deliver();
                } catch (Throwable e) {
                    Exceptions.throwIfFatal(e);
                    Operators.onErrorDropped(e, Context.empty());
                }
            }
        } finally {
            t.draining = false;
        }
    }
}
