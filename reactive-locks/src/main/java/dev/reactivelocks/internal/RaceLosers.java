package dev.reactivelocks.internal;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import org.jspecify.annotations.Nullable;
import reactor.core.publisher.Mono;

/**
 * Tells whether Reactor's {@code firstWithValue}/{@code firstWithSignal} (and {@code or()}) ignored a value
 * it was just given: in Reactor 3.8 the inner subscriber of a source that lost the race drops the value
 * without any hook (neither {@code onNextDropped} nor the discard hook sees it), so a lock handle emitted
 * in the instant its acquisition loses would be held by nobody. Read on the emitting thread right after
 * {@code onNext} returned: the inner subscriber sets its {@code won} flag on that same thread before
 * passing a winning value on.
 *
 * <p>Reads a package-private field of Reactor, so it works where Reactor's classes are reachable by deep
 * reflection (the class path, or a module path that opens {@code reactor.core.publisher}); elsewhere it
 * answers {@code false} and such a race stays the caller's to avoid ({@code LockService} says so).
 */
public final class RaceLosers {

    private static final @Nullable Class<?> WITH_VALUE =
            load("reactor.core.publisher.FluxFirstWithValue$FirstValuesEmittingSubscriber");
    private static final @Nullable Class<?> WITH_SIGNAL =
            load("reactor.core.publisher.FluxFirstWithSignal$FirstEmittingSubscriber");
    private static final @Nullable VarHandle WITH_VALUE_WON = won(WITH_VALUE);
    private static final @Nullable VarHandle WITH_SIGNAL_WON = won(WITH_SIGNAL);

    private RaceLosers() {
    }

    /** @return whether {@code subscriber} is a losing race inner that ignored the value it just received */
    public static boolean ignoredBy(Object subscriber) {
        Class<?> type = subscriber.getClass();
        VarHandle won = type == WITH_VALUE ? WITH_VALUE_WON : type == WITH_SIGNAL ? WITH_SIGNAL_WON : null;
        return won != null && !(boolean) won.get(subscriber);
    }

    private static @Nullable Class<?> load(String name) {
        try {
            return Class.forName(name, false, Mono.class.getClassLoader());
        } catch (ClassNotFoundException | LinkageError e) {
            return null;
        }
    }

    private static @Nullable VarHandle won(@Nullable Class<?> type) {
        if (type == null) {
            return null;
        }
        try {
            return MethodHandles.privateLookupIn(type, MethodHandles.lookup()).findVarHandle(type, "won", boolean.class);
        } catch (ReflectiveOperationException | RuntimeException e) {
            return null; // not reachable by deep reflection here, or another Reactor: nothing to detect
        }
    }
}
