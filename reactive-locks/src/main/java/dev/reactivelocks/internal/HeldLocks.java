package dev.reactivelocks.internal;

import dev.reactivelocks.IllegalLockStateException;
import dev.reactivelocks.LockHandle;
import dev.reactivelocks.LockMode;
import dev.reactivelocks.LockService;
import dev.reactivelocks.spi.ForwardingLockHandle;
import dev.reactivelocks.spi.ForwardingLockService;
import java.util.function.Predicate;
import org.jspecify.annotations.Nullable;
import reactor.util.context.Context;
import reactor.util.context.ContextView;

/**
 * The locks a reactive pipeline holds through {@code withLock}, kept in the Reactor {@link Context} so
 * that an acquisition of the same lock inside the body is detected as re-entry instead of deadlocking.
 *
 * <p>Entries are an immutable linked list keyed by service identity (decorators unwrapped, see
 * {@link ForwardingLockService#innermost}) and full lock name.
 */
public final class HeldLocks {

    private static final Object KEY = HeldLocks.class;

    private final Object owner;
    private final LockHandle handle;
    private final String name;
    private final LockMode mode;
    private final @Nullable HeldLocks next;

    private HeldLocks(Object owner, LockHandle handle, @Nullable HeldLocks next) {
        this.owner = owner;
        this.handle = handle;
        this.name = handle.name();
        this.mode = handle.mode();
        this.next = next;
    }

    /**
     * @param context the context of the body
     * @param owner the service that granted the handle
     * @param handle the handle held while the body runs
     * @return {@code context} with the handle recorded
     */
    public static Context with(Context context, Object owner, LockHandle handle) {
        HeldLocks head = context.getOrDefault(KEY, null);
        return context.put(KEY, new HeldLocks(innermost(owner), handle, head));
    }

    /**
     * Checks whether acquiring {@code name} from {@code owner} in {@code mode} would re-enter a lock the
     * pipeline already holds.
     *
     * @param context the subscriber's context
     * @param owner the service asked for the lock
     * @param name the full lock name
     * @param mode the requested mode
     * @return the error to signal, or {@code null} when the acquisition may proceed
     */
    public static @Nullable IllegalLockStateException reentry(ContextView context, Object owner, String name,
                                                              LockMode mode) {
        HeldLocks held = context.getOrDefault(KEY, null);
        Object service = held == null ? owner : innermost(owner);
        for (HeldLocks h = held; h != null; h = h.next) {
            if (h.owner == service && h.name.equals(name)) {
                String message = h.mode == LockMode.SHARED && mode == LockMode.EXCLUSIVE
                        ? "Lock '" + name + "' is held SHARED by this pipeline; upgrading to EXCLUSIVE would deadlock"
                        : "Lock '" + name + "' is already held (" + h.mode + ") by this pipeline; locks are not reentrant";
                return new IllegalLockStateException(name, message);
            }
        }
        return null;
    }

    /**
     * Finds a held lock by its handle, for services whose locks are identified by more than service and
     * name (a file lock by its file, whichever service and path reached it).
     *
     * @param context the subscriber's context
     * @param matches tells the handle of the same lock; it sees handles as their service granted them,
     *                decorators' wrappers ({@link ForwardingLockHandle}) taken off
     * @return the first matching handle the pipeline holds, or {@code null}
     */
    public static @Nullable LockHandle find(ContextView context, Predicate<? super LockHandle> matches) {
        return findIn(context.getOrDefault(KEY, null), matches);
    }

    /**
     * @param context the subscriber's context
     * @return whether the pipeline holds a lock through {@code withLock} (else {@link #find} finds nothing,
     *         and its predicate need not be made)
     */
    public static boolean any(ContextView context) {
        return context.hasKey(KEY);
    }

    private static @Nullable LockHandle findIn(@Nullable HeldLocks head, Predicate<? super LockHandle> matches) {
        for (HeldLocks h = head; h != null; h = h.next) {
            LockHandle granted = ForwardingLockHandle.innermost(h.handle); // as its service granted it
            if (matches.test(granted)) {
                return granted;
            }
        }
        return null;
    }

    private static Object innermost(Object owner) {
        return owner instanceof LockService service ? ForwardingLockService.innermost(service) : owner;
    }
}
