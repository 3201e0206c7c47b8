package dev.reactivelocks.process;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.util.ArrayDeque;
import java.util.Arrays;
import org.jspecify.annotations.Nullable;
import reactor.core.scheduler.Scheduler;

/**
 * One output pipe of a {@link ProcessRun}: reads what the child wrote while the subscriber has demand (or
 * collects it all for {@code execute}), cuts it into {@link ProcessOutput}s, keeps the tail for error messages,
 * and tells end of file from a pipe that a descendant still holds open.
 *
 * <p>Threading: poller-confined, except for the EOF probe, which reads on the blocking pool and hands its
 * result back through {@link #probe} and {@link ProcessRun#wake()}.
 */
final class PipeReader {

    private static final int READ_BYTES = 32 * 1024;
    private static final long PROBE_AFTER_EXIT_NANOS = 1_000_000L;
    /**
     * How long an EOF probe must have been in its read before the pipe counts as held open by a descendant.
     * Every probe is in its read for a moment, also one whose read returns at once (end of file, or what a
     * descendant just wrote): a run past its timeout must not be killed for being polled in that moment.
     */
    static final long HELD_OPEN_NANOS = 200_000_000L;

    private final ProcessRun run;
    private final ProcessSpec spec;
    private final RunSink sink;
    private final Scheduler blocking;
    final ProcessOutput.Source source;
    final InputStream in;
    final boolean collect;
    final byte[] buffer = new byte[READ_BYTES];
    final @Nullable OutputCutter cutter;
    final ArrayDeque<ProcessOutput> pending = new ArrayDeque<>();
    final @Nullable ByteArrayOutputStream all;
    final byte[] tail;
    int tailLength;
    boolean eof;

    /** 0 idle, 1 queued or running on the blocking pool, 2 result ready in probeResult/probeBuffer. */
    volatile int probe;
    /**
     * Whether the probe is in its read, and since when: set by the probe itself, so that a probe still queued
     * behind other tasks of the blocking pool is not taken for a pipe held open.
     */
    private volatile boolean reading;
    private volatile long readingSinceNanos;
    int probeResult;
    final byte[] probeBuffer = new byte[8192];

    PipeReader(ProcessRun run, ProcessSpec spec, RunSink sink, Scheduler blocking, ProcessOutput.Source source,
            InputStream in, boolean collect) {
        this.run = run;
        this.spec = spec;
        this.sink = sink;
        this.blocking = blocking;
        this.source = source;
        this.in = in;
        this.collect = collect;
        this.all = collect ? new ByteArrayOutputStream() : null;
        this.cutter = collect ? null
                : new OutputCutter(source, spec.outputMode(), spec.charset(), spec.maxLineLength());
        this.tail = collect ? new byte[0] : new byte[ProcessRun.TAIL_BYTES];
    }

    /**
     * @return {@code true} when an EOF probe has been in its read for {@link #HELD_OPEN_NANOS} at
     *     {@code now}: after the child's exit, only a descendant that keeps the pipe open makes it wait so long
     *     (a pipe without writers, or one the JDK's reaper closed, answers the read at once)
     */
    boolean heldOpen(long now) {
        return reading && now - readingSinceNanos >= HELD_OPEN_NANOS;
    }

    /**
     * @return {@code true} while an EOF probe is in its read; then {@link #heldOpenAt()} tells when it counts
     *     as a pipe held open
     */
    boolean probing() {
        return reading;
    }

    /** @return when the probe now in its read counts as a pipe held open; meaningful while {@link #probing()} */
    long heldOpenAt() {
        return readingSinceNanos + HELD_OPEN_NANOS;
    }

    boolean drained() {
        return eof && pending.isEmpty();
    }

    /**
     * Emits what is pending and reads more while there is demand; {@code true} on progress.
     *
     * @param emit whether to emit (not on the kill path, where what is read only goes to the tail)
     * @param exited whether the child has exited, at {@code exitNanos}
     */
    boolean poll(boolean emit, boolean exited, long exitNanos, long now) {
        boolean progress = false;
        int state = probe;
        if (state == 1) {
            return false;
        }
        if (state == 2) {
            probe = 0;
            if (probeResult < 0) {
                markEof();
            } else {
                feed(probeBuffer, probeResult, emit);
            }
            progress = true;
        }
        if (emit) {
            progress |= emitPending();
        }
        if (eof) {
            return progress;
        }
        // on the kill path (emit == false) pipes are drained into the tail so that the group can die
        boolean wantRead = collect || !emit || (pending.isEmpty() && sink.demand() > 0);
        if (!wantRead && !exited) {
            return progress;
        }
        int available;
        try {
            available = in.available();
        } catch (IOException e) {
            available = -1;
        }
        if (available < 0) {
            markEof();
            return true;
        }
        if (available > 0) {
            if (wantRead) {
                int n;
                try {
                    n = in.read(buffer, 0, Math.min(available, buffer.length));
                } catch (IOException e) {
                    n = -1;
                }
                if (n < 0) {
                    markEof();
                } else {
                    feed(buffer, n, emit);
                }
                if (emit) {
                    emitPending();
                }
                progress = true;
            }
        } else if (exited && now - exitNanos >= PROBE_AFTER_EXIT_NANOS) {
            // nothing readable and the child is gone: only a read can tell EOF from a pipe that a
            // descendant still holds open, and that read may block, so it runs on the blocking pool.
            // Waiting a moment after the exit lets the JDK's reaper first drain the pipe into memory
            // and close it, after which the read returns at once.
            probe = 1;
            blocking.schedule(this::probe);
        }
        return progress;
    }

    private void probe() {
        readingSinceNanos = System.nanoTime();
        reading = true;
        int n;
        try {
            n = in.read(probeBuffer, 0, probeBuffer.length);
        } catch (IOException e) {
            n = -1;
        }
        reading = false;
        probeResult = n;
        probe = 2;
        run.wake();
    }

    private void feed(byte[] bytes, int n, boolean emit) {
        if (n <= 0) {
            return;
        }
        if (all != null) {
            collect(bytes, n);
            return;
        }
        appendTail(bytes, n);
        if (emit) {
            assert cutter != null;
            cutter.feed(bytes, 0, n, pending);
        }
    }

    /** Keeps what the run admits under the spec's {@code maxOutput}; what the dying group still writes is dropped. */
    private void collect(byte[] bytes, int n) {
        assert all != null;
        all.write(bytes, 0, run.admitCollected(n));
    }

    private void markEof() {
        eof = true;
        if (cutter != null) {
            cutter.finish(pending);
        }
    }

    private boolean emitPending() {
        boolean progress = false;
        while (!pending.isEmpty() && sink.demand() > 0) {
            sink.next(pending.poll());
            progress = true;
        }
        return progress;
    }

    private void appendTail(byte[] bytes, int n) {
        if (n >= tail.length) {
            System.arraycopy(bytes, n - tail.length, tail, 0, tail.length);
            tailLength = tail.length;
        } else {
            int overflow = tailLength + n - tail.length;
            if (overflow > 0) {
                System.arraycopy(tail, overflow, tail, 0, tailLength - overflow);
                tailLength -= overflow;
            }
            System.arraycopy(bytes, 0, tail, tailLength, n);
            tailLength += n;
        }
    }

    byte[] collected() {
        return all != null ? all.toByteArray() : Arrays.copyOf(tail, tailLength);
    }

    String maskedText() {
        return spec.secretMasker().mask(new String(collected(), spec.charset()));
    }

    /** The last {@value ProcessRun#TAIL_BYTES} bytes of what was collected, decoded and masked. */
    String maskedTail() {
        byte[] bytes = collected();
        int from = Math.max(0, bytes.length - ProcessRun.TAIL_BYTES);
        return spec.secretMasker().mask(new String(bytes, from, bytes.length - from, spec.charset()));
    }
}
