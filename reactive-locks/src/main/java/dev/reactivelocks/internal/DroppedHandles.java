package dev.reactivelocks.internal;

import dev.reactivelocks.LockHandle;
import java.util.concurrent.atomic.AtomicBoolean;
import org.jspecify.annotations.Nullable;
import reactor.core.Exceptions;
import reactor.core.publisher.Hooks;
import reactor.core.publisher.Operators;
import reactor.util.context.Context;

/**
 * Releases the {@link LockHandle}s that Reactor reports as abandoned, through two global hooks that act on
 * lock handles only:
 * <ul>
 *   <li>{@code Hooks.onNextDropped}: a subscriber that received a handle after it was cancelled (a disposed
 *       {@code subscribe(consumer)} racing the grant, {@code timeout()} firing as the grant arrives,
 *       {@code next()} done) drops it, and a dropped handle belongs to nobody. Chained after any hook the
 *       application installed ({@code Hooks.onNextDropped} composes); other values are left alone.</li>
 *   <li>{@code Hooks.onOperatorError}, under the key {@value #OPERATOR_ERROR_KEY}: an operator that failed
 *       while processing a handle ({@code map} or {@code flatMap} whose function threw, {@code doOnNext}
 *       that threw) signals the error instead of the handle, which is then nobody's. The hook returns the
 *       error Reactor would return without hooks.</li>
 * </ul>
 * Installed once per class loader of Reactor, the first time an acquisition class is loaded.
 * {@code Hooks.resetOnNextDropped()} / {@code Hooks.resetOnOperatorError()} remove them; {@link #reinstall()}
 * puts them back.
 */
public final class DroppedHandles {

    /** The key of the {@code onOperatorError} hook. */
    public static final String OPERATOR_ERROR_KEY = "dev.reactivelocks.releaseAbandonedHandles";

    private static final AtomicBoolean INSTALLED = new AtomicBoolean();

    private DroppedHandles() {
    }

    /** Installs the hook, unless this class installed it already. */
    public static void install() {
        if (INSTALLED.compareAndSet(false, true)) {
            Hooks.onNextDropped(DroppedHandles::release);
            Hooks.onOperatorError(OPERATOR_ERROR_KEY, DroppedHandles::onOperatorError);
        }
    }

    /** Installs the hooks again, for applications or tests that reset Reactor's hooks. */
    public static void reinstall() {
        Hooks.onNextDropped(DroppedHandles::release);
        Hooks.onOperatorError(OPERATOR_ERROR_KEY, DroppedHandles::onOperatorError);
        INSTALLED.set(true);
    }

    /** Releases a handle an operator failed on; returns what Reactor returns without hooks. */
    static Throwable onOperatorError(Throwable error, @Nullable Object data) {
        release(data);
        Throwable t = Exceptions.unwrap(error);
        if (data != null && data != t && data instanceof Throwable) {
            t = Exceptions.addSuppressed(t, (Throwable) data);
        }
        return t;
    }

    static void release(@Nullable Object dropped) {
        if (dropped instanceof LockHandle) {
            try {
                ((LockHandle) dropped).release().subscribe(null, e -> Operators.onErrorDropped(e, Context.empty()));
            } catch (Throwable e) {
                Exceptions.throwIfFatal(e);
                Operators.onErrorDropped(e, Context.empty());
            }
        }
    }
}
