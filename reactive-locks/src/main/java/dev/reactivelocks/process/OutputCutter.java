package dev.reactivelocks.process;

import java.nio.charset.Charset;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Queue;

/**
 * Cuts the bytes of one pipe into {@link ProcessOutput}s: whole reads for {@link OutputMode#CHUNKS}, lines for
 * {@link OutputMode#LINES}. Confined to the poller thread of its run.
 *
 * @implNote Lines are split on the byte {@code '\n'}, which never occurs inside a multi-byte character of
 *     UTF-8 or any other ASCII-compatible charset; a {@code '\r'} before it is dropped, even when the two
 *     arrive in different reads. A line never holds more than {@code maxLineLength} bytes in memory: beyond
 *     that, a piece is emitted, cut before a UTF-8 continuation byte when the charset is UTF-8.
 */
final class OutputCutter {

    private final ProcessOutput.Source source;
    private final OutputMode mode;
    private final Charset charset;
    private final int maxLineLength;
    private byte[] line = new byte[256];
    private int length;

    OutputCutter(ProcessOutput.Source source, OutputMode mode, Charset charset, int maxLineLength) {
        this.source = source;
        this.mode = mode;
        this.charset = charset;
        this.maxLineLength = maxLineLength;
    }

    void feed(byte[] bytes, int offset, int count, Queue<ProcessOutput> out) {
        if (mode == OutputMode.CHUNKS) {
            out.add(new ProcessOutput(source, Arrays.copyOfRange(bytes, offset, offset + count), charset));
            return;
        }
        int start = offset;
        int end = offset + count;
        for (int i = offset; i < end; i++) {
            if (bytes[i] == '\n') {
                append(bytes, start, i - start, out);
                int lineEnd = length > 0 && line[length - 1] == '\r' ? length - 1 : length;
                out.add(piece(0, lineEnd));
                length = 0;
                start = i + 1;
            }
        }
        append(bytes, start, end - start, out);
    }

    /** Emits the last, unterminated line at end of stream. */
    void finish(Queue<ProcessOutput> out) {
        if (length > 0) {
            out.add(piece(0, length));
            length = 0;
        }
    }

    private void append(byte[] bytes, int offset, int count, Queue<ProcessOutput> out) {
        int off = offset;
        int remaining = count;
        while (remaining > 0) {
            int room = maxLineLength - length;
            if (room <= 0) {
                emitOverlongPiece(out);
                continue;
            }
            int n = Math.min(room, remaining);
            ensureCapacity(length + n);
            System.arraycopy(bytes, off, line, length, n);
            length += n;
            off += n;
            remaining -= n;
        }
    }

    /** The buffer is full and the line goes on: emit a piece and keep what follows the cut. */
    private void emitOverlongPiece(Queue<ProcessOutput> out) {
        int cut = length;
        if (charset.equals(StandardCharsets.UTF_8)) {
            int lead = length - 1;
            while (lead > 0 && lead > length - 4 && (line[lead] & 0xC0) == 0x80) {
                lead--;
            }
            if (lead > 0 && (line[lead] & 0xC0) != 0x80 && lead + utf8Length(line[lead]) > length) {
                cut = lead; // do not split the last, incomplete character
            }
        }
        out.add(piece(0, cut));
        System.arraycopy(line, cut, line, 0, length - cut);
        length -= cut;
    }

    private static int utf8Length(byte lead) {
        int b = lead & 0xFF;
        if (b >= 0xF0 && b < 0xF8) {
            return 4;
        }
        if (b >= 0xE0) {
            return b < 0xF0 ? 3 : 1;
        }
        if (b >= 0xC0) {
            return 2;
        }
        return 1;
    }

    private ProcessOutput piece(int from, int to) {
        return new ProcessOutput(source, Arrays.copyOfRange(line, from, to), charset);
    }

    private void ensureCapacity(int capacity) {
        if (capacity > line.length) {
            line = Arrays.copyOf(line, Math.min(Math.max(capacity, line.length * 2), Math.max(maxLineLength, 16)));
        }
    }
}
