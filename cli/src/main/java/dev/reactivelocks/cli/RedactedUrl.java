package dev.reactivelocks.cli;

import dev.reactivelocks.process.SecretMasker;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A database URL given on the command line, split into its RFC 3986 components so that it can be shown
 * without its credentials, and a sanitiser for every message that may repeat it.
 *
 * <p>The split is deliberately more tolerant than {@link java.net.URI}: users paste passwords unescaped,
 * and a strict parser either rejects such URLs (and its message repeats them) or takes the password for the
 * host or the path. So:
 * <ul>
 *   <li>the scheme is every leading {@code name:} before {@code //} ({@code r2dbc:pool:postgresql:} is one
 *       scheme of three parts); text that is not {@code scheme://...} is shown as its first {@code name:}
 *       and {@value #MASK}, since nothing tells a user name or host from a password there;</li>
 *   <li>the user-info is everything up to the <em>last</em> {@code @}: a password may contain {@code /},
 *       {@code ?}, {@code #}, {@code :} and {@code @}. A query value with an {@code @} then hides the host
 *       too, which errs on the safe side;</li>
 *   <li>the user-info is shown as {@code user:***} when the user is a plain name, else as {@code ***};
 *       a user-info without {@code :} is shown only for PostgreSQL-style URLs, where it is the user name
 *       (for Redis URLs it is the password);</li>
 *   <li>query parameters whose name mentions a credential ({@code password}, {@code pwd}, {@code pass},
 *       {@code secret}, {@code token}, {@code auth}, {@code credential}, {@code key}) keep their name and
 *       lose their value (wherever the split puts them, their values are secrets); a fragment is hidden
 *       whole.</li>
 * </ul>
 * Each hidden value is remembered raw and percent-decoded, with the pieces a parser may cut it into at a
 * delimiter (a driver echoing "the port" of {@code pa/ss@word@db} prints {@code ss@word@db}), and {@link #sanitise(String)} removes them, the
 * raw URL and any other URL-like word from messages of drivers and of the command-line parser.
 */
final class RedactedUrl {

    static final String MASK = SecretMasker.MASK;

    private static final String PLACEHOLDER = "\u0000url\u0000";
    private static final String DELIMITERS = "/@:?#&=;, ";
    private static final int MIN_PIECE = 3;
    private static final Pattern SCHEME = Pattern.compile("^(?:[A-Za-z][A-Za-z0-9+.-]*:)+");
    private static final Pattern PLAIN_USER = Pattern.compile("[A-Za-z0-9._~%+-]+");
    private static final Pattern SECRET_PARAMETER =
            Pattern.compile("pass|pwd|secret|token|auth|credential|key", Pattern.CASE_INSENSITIVE);
    /** A URL-like word in free text: a scheme and {@code //} or an {@code @}, up to blank or quote. */
    private static final Pattern URL_WORD = Pattern.compile(
            "(?:[A-Za-z][A-Za-z0-9+.-]*:)+(?://)?[^\\s'\"<>]*@[^\\s'\"<>]*"
                    + "|(?:[A-Za-z][A-Za-z0-9+.-]*:)+//[^\\s'\"<>]*");

    private final String raw;
    private final String scheme;
    private final boolean hierarchical;
    private final String text;
    private final SecretMasker masker;

    private RedactedUrl(String raw, String scheme, boolean hierarchical, String text, List<String> secrets) {
        this.raw = raw;
        this.scheme = scheme;
        this.hierarchical = hierarchical;
        this.text = text;
        this.masker = SecretMasker.defaults().withSecrets(secrets.toArray(String[]::new));
    }

    /** Splits {@code url}; never fails. */
    static RedactedUrl of(String url) {
        Matcher m = SCHEME.matcher(url);
        String scheme = m.find() ? m.group() : "";
        List<String> secrets = new ArrayList<>();
        int question = url.indexOf('?');
        if (question >= 0) {
            query(url.substring(question + 1), secrets); // password-like parameters anywhere, whatever the split
        }
        if (!url.startsWith("//", scheme.length())) {
            // not scheme://...: nothing tells a user name or host from a password, so only the scheme is shown
            scheme = scheme.isEmpty() ? "" : scheme.substring(0, scheme.indexOf(':') + 1);
            String rest = url.substring(scheme.length());
            addSecret(rest, secrets);
            return new RedactedUrl(url, scheme, false, scheme + (rest.isEmpty() ? "" : MASK), secrets);
        }
        String rest = url.substring(scheme.length() + 2);
        StringBuilder shown = new StringBuilder(scheme).append("//");
        int at = rest.lastIndexOf('@');
        if (at >= 0) {
            shown.append(userInfo(rest.substring(0, at), !isRedis(scheme), secrets)).append('@');
            rest = rest.substring(at + 1);
        }
        int hash = rest.indexOf('#');
        String fragment = hash < 0 ? null : rest.substring(hash + 1);
        if (fragment != null) {
            rest = rest.substring(0, hash);
            addSecret(fragment, secrets);
        }
        question = rest.indexOf('?');
        shown.append(question < 0 ? rest : rest.substring(0, question));
        if (question >= 0) {
            shown.append('?').append(query(rest.substring(question + 1), secrets));
        }
        if (fragment != null) {
            shown.append('#').append(MASK);
        }
        return new RedactedUrl(url, scheme, true, shown.toString(), secrets);
    }

    private static boolean isRedis(String scheme) {
        return scheme.toLowerCase(Locale.ROOT).startsWith("redis");
    }

    private static String userInfo(String userInfo, boolean userAlone, List<String> secrets) {
        int colon = userInfo.indexOf(':');
        String user = colon < 0 ? (userAlone ? userInfo : null) : userInfo.substring(0, colon);
        if (user != null && (user.isEmpty() || PLAIN_USER.matcher(user).matches())) {
            if (colon < 0) {
                return user;
            }
            addSecret(userInfo.substring(colon + 1), secrets);
            return user + ":" + MASK;
        }
        addSecret(userInfo, secrets);
        return MASK;
    }

    private static String query(String query, List<String> secrets) {
        StringBuilder shown = new StringBuilder();
        for (String parameter : query.split("&", -1)) {
            if (shown.length() > 0) {
                shown.append('&');
            }
            int eq = parameter.indexOf('=');
            String name = eq < 0 ? parameter : parameter.substring(0, eq);
            if (eq >= 0 && SECRET_PARAMETER.matcher(decode(name)).find()) {
                addSecret(parameter.substring(eq + 1), secrets);
                shown.append(name).append('=').append(MASK);
            } else {
                shown.append(parameter);
            }
        }
        return shown.toString();
    }

    /**
     * Remembers {@code secret}, raw and decoded, and the pieces a parser may cut it into at a delimiter
     * (what comes before and after each one), as far as they are at least {@value #MIN_PIECE} long.
     */
    private static void addSecret(String secret, List<String> secrets) {
        for (String s : List.of(secret, decode(secret))) {
            secrets.add(s);
            for (int i = 0; i < s.length(); i++) {
                if (DELIMITERS.indexOf(s.charAt(i)) >= 0) {
                    addPiece(s.substring(0, i), secrets);
                    addPiece(s.substring(i + 1), secrets);
                }
            }
        }
    }

    private static void addPiece(String piece, List<String> secrets) {
        if (piece.length() >= MIN_PIECE) {
            secrets.add(piece);
        }
    }

    /** Percent-decodes {@code s} as UTF-8, leaving malformed escapes as they are; {@code +} stays. */
    static String decode(String s) {
        if (s.indexOf('%') < 0) {
            return s;
        }
        ByteArrayOutputStream bytes = new ByteArrayOutputStream(s.length());
        byte[] utf8 = s.getBytes(StandardCharsets.UTF_8);
        for (int i = 0; i < utf8.length; i++) {
            int hi = i + 2 < utf8.length && utf8[i] == '%' ? Character.digit(utf8[i + 1], 16) : -1;
            int lo = hi < 0 ? -1 : Character.digit(utf8[i + 2], 16);
            if (lo >= 0) {
                bytes.write(hi * 16 + lo);
                i += 2;
            } else {
                bytes.write(utf8[i]);
            }
        }
        return bytes.toString(StandardCharsets.UTF_8);
    }

    /** @return the scheme without its last {@code :}, lower case, e.g. {@code r2dbc:pool:postgresql}; may be empty */
    String scheme() {
        return scheme.isEmpty() ? "" : scheme.substring(0, scheme.length() - 1).toLowerCase(Locale.ROOT);
    }

    /** @return whether {@code //} follows the scheme */
    boolean hierarchical() {
        return hierarchical;
    }

    /**
     * {@code message} without anything secret: the raw URL becomes {@link #toString()}, every hidden value
     * becomes {@value #MASK}, any other URL-like word is redacted the same way, and what oslo's
     * {@code mask_password} rules recognise ({@code password=...}) is masked.
     */
    String sanitise(String message) {
        // the URL, raw or redacted, is set aside first so that the masking rules do not mangle its redacted form
        String masked = masker.mask(raw.isEmpty() ? message
                : message.replace(raw, PLACEHOLDER).replace(text, PLACEHOLDER));
        Matcher m = URL_WORD.matcher(masked);
        StringBuilder out = new StringBuilder(masked.length());
        while (m.find()) {
            m.appendReplacement(out, Matcher.quoteReplacement(of(m.group()).text));
        }
        m.appendTail(out);
        return out.toString().replace(PLACEHOLDER, text);
    }

    /** @return the URL with its credentials replaced by {@value #MASK} */
    @Override
    public String toString() {
        return text;
    }
}
