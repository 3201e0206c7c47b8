package dev.reactivelocks.process;

/** How {@link ProcessExecutor#stream(ProcessSpec)} cuts stdout and stderr into {@link ProcessOutput}s. */
public enum OutputMode {
    /**
     * One item per line, without its terminator: lines end at {@code \n}; a {@code \r} right before it is
     * dropped too (CRLF). A last line without terminator is emitted at end of stream. Lines longer than
     * {@link ProcessSpec.Builder#maxLineLength(int)} bytes are emitted in pieces of at most that size (cut
     * at a UTF-8 character boundary when possible). Text is decoded with replacement of malformed input.
     */
    LINES,
    /** Chunks of bytes exactly as read from the pipe; concatenating them gives the exact output. */
    CHUNKS
}
