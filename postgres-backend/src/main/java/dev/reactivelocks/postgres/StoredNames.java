package dev.reactivelocks.postgres;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;

/**
 * The bytes of the {@code name} column: UTF-8, except that half a surrogate pair (a string cut inside an
 * emoji, say) is written as the three bytes UTF-8 would give its code unit, and read back as itself
 * (generalized UTF-8). Plain UTF-8 writes {@code '?'} instead, so such a name was listed as another one,
 * and two names listed as one.
 */
final class StoredNames {

    private StoredNames() {
    }

    /** @return the bytes stored for {@code name}: its UTF-8 when it is well-formed UTF-16 */
    static byte[] bytes(String name) {
        if (!hasSurrogate(name)) {
            return name.getBytes(StandardCharsets.UTF_8);
        }
        ByteArrayOutputStream out = new ByteArrayOutputStream(name.length() * 3);
        for (int i = 0; i < name.length(); i++) {
            char c = name.charAt(i);
            if (Character.isHighSurrogate(c) && i + 1 < name.length() && Character.isLowSurrogate(name.charAt(i + 1))) {
                int cp = Character.toCodePoint(c, name.charAt(++i));
                out.write(0xF0 | cp >> 18);
                out.write(0x80 | cp >> 12 & 0x3F);
                out.write(0x80 | cp >> 6 & 0x3F);
                out.write(0x80 | cp & 0x3F);
            } else if (c < 0x80) {
                out.write(c);
            } else if (c < 0x800) {
                out.write(0xC0 | c >> 6);
                out.write(0x80 | c & 0x3F);
            } else {
                out.write(0xE0 | c >> 12);
                out.write(0x80 | c >> 6 & 0x3F);
                out.write(0x80 | c & 0x3F);
            }
        }
        return out.toByteArray();
    }

    /**
     * The bytes to look up the names that start with {@code prefix}: those of {@code prefix}, without a
     * trailing high surrogate (whose pair, in a name, is stored as one four-byte character).
     */
    static byte[] prefixBytes(String prefix) {
        boolean cut = !prefix.isEmpty() && Character.isHighSurrogate(prefix.charAt(prefix.length() - 1));
        return bytes(cut ? prefix.substring(0, prefix.length() - 1) : prefix);
    }

    /** @return the name stored as {@code bytes}; a byte that starts no character reads as U+FFFD */
    static String name(byte[] bytes) {
        String utf8 = new String(bytes, StandardCharsets.UTF_8);
        if (utf8.indexOf('\uFFFD') < 0) {
            return utf8;
        }
        StringBuilder out = new StringBuilder(bytes.length);
        int i = 0;
        while (i < bytes.length) {
            int b = bytes[i] & 0xFF;
            if (b < 0x80) {
                out.append((char) b);
                i++;
            } else if (b >= 0xC0 && b < 0xE0 && continued(bytes, i, 1)) {
                out.append((char) ((b & 0x1F) << 6 | bytes[i + 1] & 0x3F));
                i += 2;
            } else if (b >= 0xE0 && b < 0xF0 && continued(bytes, i, 2)) {
                out.append((char) ((b & 0x0F) << 12 | (bytes[i + 1] & 0x3F) << 6 | bytes[i + 2] & 0x3F));
                i += 3;
            } else if (b >= 0xF0 && b < 0xF8 && continued(bytes, i, 3)) {
                out.appendCodePoint((b & 0x07) << 18 | (bytes[i + 1] & 0x3F) << 12 | (bytes[i + 2] & 0x3F) << 6
                        | bytes[i + 3] & 0x3F);
                i += 4;
            } else {
                out.append('\uFFFD');
                i++;
            }
        }
        return out.toString();
    }

    /** Whether the {@code n} bytes after {@code at} are continuation bytes. */
    private static boolean continued(byte[] bytes, int at, int n) {
        if (at + n >= bytes.length) {
            return false;
        }
        for (int k = 1; k <= n; k++) {
            if ((bytes[at + k] & 0xC0) != 0x80) {
                return false;
            }
        }
        return true;
    }

    private static boolean hasSurrogate(String name) {
        for (int i = 0; i < name.length(); i++) {
            if (Character.isSurrogate(name.charAt(i))) {
                return true;
            }
        }
        return false;
    }
}
