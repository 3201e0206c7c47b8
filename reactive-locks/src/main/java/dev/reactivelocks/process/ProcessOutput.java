package dev.reactivelocks.process;

import java.nio.charset.Charset;
import org.jspecify.annotations.Nullable;

/**
 * One line or chunk of a child's stdout or stderr, as emitted by {@link ProcessExecutor#stream(ProcessSpec)}.
 * Immutable and thread-safe.
 */
public final class ProcessOutput {

    /** The pipe an output came from. */
    public enum Source {
        /** The child's standard output. */
        STDOUT,
        /** The child's standard error. */
        STDERR
    }

    private final Source source;
    private final byte[] bytes;
    private final Charset charset;
    private volatile @Nullable String text;

    ProcessOutput(Source source, byte[] bytes, Charset charset) {
        this.source = source;
        this.bytes = bytes;
        this.charset = charset;
    }

    /** @return where this output came from */
    public Source source() {
        return source;
    }

    /** @return {@code true} for standard output */
    public boolean isStdout() {
        return source == Source.STDOUT;
    }

    /**
     * @return a copy of the raw bytes: for {@link OutputMode#LINES} the line without its terminator, for
     *     {@link OutputMode#CHUNKS} exactly what was read
     */
    public byte[] bytes() {
        return bytes.clone();
    }

    /** @return the number of raw bytes */
    public int size() {
        return bytes.length;
    }

    /**
     * @return the bytes decoded with the spec's charset, malformed input replaced. A chunk may end inside a
     *     multi-byte character; use lines for text.
     */
    public String text() {
        String t = text;
        if (t == null) {
            t = new String(bytes, charset);
            text = t;
        }
        return t;
    }

    @Override
    public String toString() {
        return source + ": " + text();
    }
}
