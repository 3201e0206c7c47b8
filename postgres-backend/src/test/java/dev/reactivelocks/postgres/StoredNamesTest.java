package dev.reactivelocks.postgres;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The bytes of the {@code name} column, read back as the names written. */
class StoredNamesTest {

    @Test
    void everyNameReadsBackAsWrittenAndWellFormedOnesAsPlainUtf8() {
        List<String> names = List.of("", "plain", "nul\u0000", "caf\u00e9", "\u20ac", "\uD83D\uDD12 lock",
                "\uFFFD replacement", "cut \uD83D", "\uDD12 low first", "\uDD12\uD83D reversed", "\uD83D\uD83D\uDD12");
        for (String name : names) {
            byte[] stored = StoredNames.bytes(name);
            assertThat(StoredNames.name(stored)).as(name).isEqualTo(name);
            if (name.codePoints().noneMatch(cp -> Character.isSurrogate((char) cp) && cp <= 0xFFFF)) {
                assertThat(stored).as(name).isEqualTo(name.getBytes(StandardCharsets.UTF_8));
            }
        }
        assertThat(StoredNames.name(new byte[] {'a', (byte) 0xC3})).isEqualTo("a\uFFFD");
    }

    @Test
    void aPrefixEndingInHalfAPairLooksUpTheNamesWhosePairItStarts() {
        assertThat(StoredNames.prefixBytes("x\uD83D")).isEqualTo(StoredNames.bytes("x"));
        assertThat(StoredNames.prefixBytes("x\uDD12")).isEqualTo(StoredNames.bytes("x\uDD12"));
    }
}
