package dev.reactivelocks.cli;

import java.util.concurrent.atomic.AtomicBoolean;

/**
 * A JVM shutdown hook that cleans up once when the tool is stopped by {@code SIGTERM} or {@code SIGINT}
 * (or {@code System.exit} from elsewhere) while a subcommand runs. {@link #close()} removes it when the
 * subcommand ends normally.
 */
final class StopHook implements AutoCloseable {

    private final Thread thread;
    private final AtomicBoolean stopping = new AtomicBoolean();

    private StopHook(String name, Runnable onStop) {
        this.thread = new Thread(() -> {
            if (stopping.compareAndSet(false, true)) {
                onStop.run();
            }
        }, name);
    }

    /** Registers {@code onStop} to run on JVM shutdown, at most once. */
    static StopHook install(String name, Runnable onStop) {
        StopHook hook = new StopHook(name, onStop);
        Runtime.getRuntime().addShutdownHook(hook.thread);
        return hook;
    }

    /** @return whether the JVM is shutting down and the hook has started (the main path then gives way) */
    boolean stopping() {
        return stopping.get();
    }

    /** Removes the hook; when the JVM is already shutting down, the hook runs (or ran) instead. */
    @Override
    public void close() {
        try {
            Runtime.getRuntime().removeShutdownHook(thread);
        } catch (IllegalStateException shuttingDown) {
            // the hook runs or ran
        }
    }
}
