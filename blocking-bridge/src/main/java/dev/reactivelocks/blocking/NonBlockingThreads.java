package dev.reactivelocks.blocking;

import java.lang.invoke.MethodHandle;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.MethodType;
import org.jspecify.annotations.Nullable;
import reactor.core.scheduler.Schedulers;

/**
 * Recognises threads that must never block: Reactor's non-blocking threads ({@code parallel}, {@code single},
 * Reactor Netty event loops: {@link Schedulers#isInNonBlockingThread()}) and Vert.x event-loop threads
 * ({@code io.vertx.core.Context.isOnEventLoopThread()}, looked up once when Vert.x is on the class path,
 * so that this module does not depend on Vert.x).
 */
final class NonBlockingThreads {

    private static final @Nullable MethodHandle VERTX_EVENT_LOOP = vertxEventLoopCheck();

    private NonBlockingThreads() {
    }

    /**
     * Throws when the current thread must not block.
     *
     * @param method the refused method, for the message, e.g. {@code lock} or {@code Lock.tryLock}
     * @param name the lock name, for the message
     * @throws IllegalStateException on a non-blocking thread
     */
    static void checkMayBlock(String method, String name) {
        String kind = nonBlockingKind();
        if (kind != null) {
            throw new IllegalStateException(method + "(\"" + name + "\") would block " + kind + " thread '"
                    + Thread.currentThread().getName() + "', which must never block. There, use the reactive "
                    + "LockService (acquire/withLock/tryAcquire) instead, or run the blocking code on a thread "
                    + "that may block (Schedulers.boundedElastic(), a Vert.x worker or executeBlocking)");
        }
    }

    /** @return a description of the current thread when it must not block, otherwise {@code null} */
    static @Nullable String nonBlockingKind() {
        if (Schedulers.isInNonBlockingThread()) {
            return "the non-blocking Reactor";
        }
        if (VERTX_EVENT_LOOP != null && onVertxEventLoop(VERTX_EVENT_LOOP)) {
            return "the Vert.x event-loop";
        }
        return null;
    }

    private static boolean onVertxEventLoop(MethodHandle check) {
        try {
            return (boolean) check.invokeExact();
        } catch (RuntimeException | Error e) {
            throw e;
        } catch (Throwable e) {
            return false; // the method declares no checked exception
        }
    }

    private static @Nullable MethodHandle vertxEventLoopCheck() {
        try {
            Class<?> context = Class.forName("io.vertx.core.Context", false, NonBlockingThreads.class.getClassLoader());
            return MethodHandles.publicLookup()
                    .findStatic(context, "isOnEventLoopThread", MethodType.methodType(boolean.class));
        } catch (ReflectiveOperationException | LinkageError | SecurityException e) {
            return null; // no Vert.x here
        }
    }
}
