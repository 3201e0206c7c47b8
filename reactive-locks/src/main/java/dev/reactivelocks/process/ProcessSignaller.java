package dev.reactivelocks.process;

import static dev.reactivelocks.process.ProcessRun.LOG;

import dev.reactivelocks.internal.RunMarker;
import java.io.IOException;
import java.lang.System.Logger.Level;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Sends {@code SIGTERM} and {@code SIGKILL} to what a {@link ProcessRun} started: its process group (with
 * {@code kill(1)}, or its descendants one by one where there is none), the processes that escaped the group but
 * carry the run's marker, and the leader itself.
 *
 * <p>Threading: {@link #send} may be called from the poller; the signals go out on the blocking pool, which
 * then wakes the run. {@link #inFlight()} counts the signals not yet delivered.
 */
final class ProcessSignaller {

    private final DefaultProcessExecutor executor;
    private final ProcessRun run;
    private final Process process;
    private final RunMarker marker;
    private final String display;
    private final AtomicInteger signalsInFlight = new AtomicInteger();
    private volatile List<ProcessHandle> descendantsAtTerm = List.of();

    ProcessSignaller(DefaultProcessExecutor executor, ProcessRun run, Process process, RunMarker marker,
            String display) {
        this.executor = executor;
        this.run = run;
        this.process = process;
        this.marker = marker;
        this.display = display;
    }

    /** The number of signals sent but not yet delivered. */
    int inFlight() {
        return signalsInFlight.get();
    }

    /** Sends {@code SIGTERM} or {@code SIGKILL} ({@code name}) to the child's process group, on the blocking pool. */
    void send(String name) {
        Process p = process;
        signalsInFlight.incrementAndGet();
        boolean kill = "KILL".equals(name);
        executor.blocking().schedule(() -> {
            try {
                SystemTools tools = executor.tools();
                if (tools.groupKill()) {
                    signalGroup(tools, name);
                } else {
                    signalDescendants(p, kill);
                }
                signalEscaped(kill);
                // the leader directly too: covers a signal that races the child's own setsid()
                if (kill) {
                    p.destroyForcibly();
                } else {
                    p.destroy();
                }
            } catch (RuntimeException e) {
                LOG.log(Level.WARNING, "Sending SIG" + name + " to " + display + " failed", e);
            } finally {
                signalsInFlight.decrementAndGet();
                run.wake();
            }
        });
    }

    private void signalGroup(SystemTools tools, String name) {
        String kill = tools.kill();
        assert kill != null;
        try {
            Process k = new ProcessBuilder(kill, "-s", name, "--", "-" + process.pid())
                    .redirectErrorStream(true)
                    .redirectOutput(ProcessBuilder.Redirect.DISCARD)
                    .start();
            k.getOutputStream().close();
            k.waitFor();
        } catch (IOException e) {
            LOG.log(Level.WARNING, "Could not run " + kill + " for " + display + "; signalling descendants", e);
            signalDescendants(process, "KILL".equals(name));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /**
     * Signals the processes that left the tree and the group but still carry the run's marker: a grandchild
     * that double-forked and called {@code setsid}, and its own descendants.
     */
    private void signalEscaped(boolean kill) {
        for (ProcessHandle h : marker.carriers()) {
            if (kill) {
                h.destroyForcibly();
            } else {
                h.destroy();
            }
        }
    }

    private void signalDescendants(Process p, boolean kill) {
        List<ProcessHandle> targets = new ArrayList<>(descendantsAtTerm);
        p.toHandle().descendants().forEach(targets::add);
        if (!kill) {
            descendantsAtTerm = List.copyOf(targets);
        }
        for (ProcessHandle h : targets) {
            if (kill) {
                h.destroyForcibly();
            } else {
                h.destroy();
            }
        }
    }
}
