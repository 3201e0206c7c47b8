package dev.reactivelocks.process;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class OutputCutterTest {

    static List<String> cut(int max, String... reads) {
        OutputCutter cutter = new OutputCutter(ProcessOutput.Source.STDOUT, OutputMode.LINES, StandardCharsets.UTF_8, max);
        ArrayDeque<ProcessOutput> out = new ArrayDeque<>();
        for (String read : reads) {
            byte[] bytes = read.getBytes(StandardCharsets.UTF_8);
            cutter.feed(bytes, 0, bytes.length, out);
        }
        cutter.finish(out);
        List<String> lines = new ArrayList<>();
        out.forEach(o -> lines.add(o.text()));
        return lines;
    }

    @Test
    void splitsOnLfAndCrlfAcrossReads() {
        assertThat(cut(1024, "a\r", "\nb", "c\n\r\n", "last")).containsExactly("a", "bc", "", "last");
    }

    @Test
    void keepsLoneCarriageReturns() {
        assertThat(cut(1024, "50%\r100%\n")).containsExactly("50%\r100%");
    }

    @Test
    void lineOfExactlyMaxLengthIsOneLine() {
        assertThat(cut(16, "0123456789abcdef\n")).containsExactly("0123456789abcdef");
    }

    @Test
    void overlongLinesAreCutWithoutSplittingCharacters() {
        List<String> pieces = cut(16, "€€€€€€€€€€\n"); // 30 bytes of 3-byte characters
        assertThat(pieces).containsExactly("€€€€€", "€€€€€");
        assertThat(String.join("", cut(17, "x".repeat(100)))).isEqualTo("x".repeat(100));
    }

    @Test
    void chunksAreExactCopies() {
        OutputCutter cutter = new OutputCutter(ProcessOutput.Source.STDERR, OutputMode.CHUNKS, StandardCharsets.UTF_8, 16);
        ArrayDeque<ProcessOutput> out = new ArrayDeque<>();
        byte[] bytes = {1, '\n', (byte) 0xff, '\r'};
        cutter.feed(bytes, 1, 3, out);
        cutter.finish(out);
        assertThat(out).hasSize(1);
        assertThat(out.peek().bytes()).containsExactly('\n', 0xff, '\r');
        assertThat(out.peek().source()).isEqualTo(ProcessOutput.Source.STDERR);
        assertThat(out.peek().text()).isEqualTo("\n\uFFFD\r");
    }
}
