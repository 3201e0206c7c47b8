package dev.reactivelocks.redis;

import java.io.ByteArrayOutputStream;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;

/**
 * Lock names as Redis key bytes: UTF-8, extended to encode unpaired surrogates as three-byte sequences
 * (the "WTF-8" generalisation), so that every Java string, valid Unicode or not, gets its own bytes and
 * valid names read as plain UTF-8 in {@code redis-cli}. Injective: a lone surrogate is never followed by a
 * surrogate it would pair with ({@link String#codePoints()} pairs those), so decoding gives back the name.
 */
final class Names {

    private static final HexFormat HEX = HexFormat.of();

    private Names() {
    }

    static byte[] encode(String name) {
        ByteArrayOutputStream out = new ByteArrayOutputStream(name.length() + 16);
        name.codePoints().forEach(cp -> {
            if (cp < 0x80) {
                out.write(cp);
            } else if (cp < 0x800) {
                out.write(0xC0 | (cp >> 6));
                out.write(0x80 | (cp & 0x3F));
            } else if (cp < 0x10000) {   // includes unpaired surrogates D800..DFFF
                out.write(0xE0 | (cp >> 12));
                out.write(0x80 | ((cp >> 6) & 0x3F));
                out.write(0x80 | (cp & 0x3F));
            } else {
                out.write(0xF0 | (cp >> 18));
                out.write(0x80 | ((cp >> 12) & 0x3F));
                out.write(0x80 | ((cp >> 6) & 0x3F));
                out.write(0x80 | (cp & 0x3F));
            }
        });
        return out.toByteArray();
    }

    /** Decodes bytes written by {@link #encode}; other bytes decode to some string without failing. */
    static String decode(byte[] bytes, int offset) {
        StringBuilder sb = new StringBuilder(bytes.length - offset);
        int i = offset;
        while (i < bytes.length) {
            int b = bytes[i] & 0xFF;
            int cp;
            int n;
            if (b < 0x80) {
                cp = b;
                n = 1;
            } else if (b >= 0xF0) {
                cp = b & 0x07;
                n = 4;
            } else if (b >= 0xE0) {
                cp = b & 0x0F;
                n = 3;
            } else if (b >= 0xC0) {
                cp = b & 0x1F;
                n = 2;
            } else {
                cp = 0xFFFD;
                n = 1;
            }
            if (i + n > bytes.length) {
                sb.append('\uFFFD');
                break;
            }
            for (int k = 1; k < n; k++) {
                cp = (cp << 6) | (bytes[i + k] & 0x3F);
            }
            sb.appendCodePoint(Math.min(cp, Character.MAX_CODE_POINT));
            i += n;
        }
        return sb.toString();
    }

    /** @return the lower-case hexadecimal SHA-256 of the encoded name: 64 characters for any name */
    static String digest(byte[] encodedName) {
        try {
            return HEX.formatHex(MessageDigest.getInstance("SHA-256").digest(encodedName));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is required of every Java platform", e);
        }
    }

    static String sha1(byte[] script) {
        try {
            return HEX.formatHex(MessageDigest.getInstance("SHA-1").digest(script));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-1 is required of every Java platform", e);
        }
    }

    static byte[] concat(byte[] a, byte[] b, byte[] c) {
        byte[] out = new byte[a.length + b.length + c.length];
        System.arraycopy(a, 0, out, 0, a.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        System.arraycopy(c, 0, out, a.length + b.length, c.length);
        return out;
    }
}
