package dev.reactivelocks.process;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import org.jspecify.annotations.Nullable;

/**
 * Replaces secrets in commands, log lines and exception texts with {@code ***}, with the patterns of
 * oslo.utils' {@code strutils.mask_password}: a value is secret when it follows a sensitive key
 * ({@code password}, {@code token}, {@code secret}, {@code passphrase}, … oslo's keys and a few more,
 * matched case-insensitively, also inside longer names such as {@code db_password}) in one of these forms:
 * <ul>
 *   <li>{@code password=s3cr3t}, {@code password = "s3 cr3t"}, {@code password='s3cr3t'};</li>
 *   <li>command-line options {@code --password s3cr3t}, {@code --password -s3cr3t},
 *       {@code --password 's3 cr3t'}, {@code --os-password s3cr3t}, {@code --password=s3cr3t};</li>
 *   <li>JSON or Python dicts: {@code "password": "s3cr3t"}, {@code 'admin_password': u's3cr3t'}, and
 *       Python argument lists {@code 'password', '-p', 's3cr3t'};</li>
 *   <li>XML: {@code <password>s3cr3t</password>}.</li>
 * </ul>
 * Literal values added with {@link #withSecrets(String...)} are masked wherever they appear.
 *
 * <p>A command is masked with its argument structure, {@link #maskCommand(List)}: the whole element after
 * a secret option ({@code --passphrase "correct horse battery"}) and the whole value of
 * {@code --password=...}, spaces included, which a text pattern cannot delimit.
 *
 * <p>Instances are immutable and thread-safe.
 */
public final class SecretMasker {

    /** The mask that replaces every secret. */
    public static final String MASK = "***";

    /** oslo's {@code _SANITIZE_KEYS} (lower case, matched as substrings), and a few more. */
    private static final List<String> DEFAULT_KEYS = List.of(
            "adminpass", "admin_pass", "password", "admin_password", "auth_token", "new_pass", "auth_password",
            "secret_uuid", "secret", "sys_pswd", "token", "configdrive", "chappassword", "encrypted_key",
            "private_key", "fernetkey", "sslkey", "passphrase", "cephclusterfsid", "octaviaheartbeatkey",
            "rabbitcookie", "cephmanilaclientkey", "pacemakerremoteauthkey", "designaterndckey", "cephadminkey",
            "heatauthencryptionkey", "cephclientkey", "keystonecredential", "barbicansimplecryptokek",
            "cephrgwkey", "swifthashsuffix", "migrationsshkey", "cephmdskey", "cephmonkey",
            // not in oslo
            "passwd", "pswd", "auth_key", "encryption_key", "cephxkey", "keyfile");

    /** Values after secret options shorter than this are masked in the command only, not in all text. */
    static final int MIN_LITERAL_FROM_COMMAND = 4;

    private static final SecretMasker DEFAULTS = new SecretMasker(DEFAULT_KEYS, List.of());
    private static final SecretMasker NONE = new SecretMasker(List.of(), List.of());

    private final List<String> keys;
    private final List<String> secrets;
    private final List<Rule> rules;
    private final @Nullable Pattern option;
    private final @Nullable Pattern assignment;

    private SecretMasker(List<String> keys, List<String> secrets) {
        this.keys = keys;
        this.secrets = secrets;
        this.rules = keys.isEmpty() ? List.of() : rules(keys);
        String key = keys.stream().map(Pattern::quote).collect(Collectors.joining("|", "(?:", ")"));
        this.option = keys.isEmpty() ? null
                : Pattern.compile("--?[\\w.-]*" + key + "[\\w.-]*", Pattern.CASE_INSENSITIVE);
        this.assignment = keys.isEmpty() ? null
                : Pattern.compile("(?:--?)?[\\w.-]*" + key + "[\\w.-]*\\s*=", Pattern.CASE_INSENSITIVE);
    }

    /** @return the oslo rules with their default sensitive keys */
    public static SecretMasker defaults() {
        return DEFAULTS;
    }

    /** @return a masker that masks nothing */
    public static SecretMasker none() {
        return NONE;
    }

    /**
     * @param moreKeys further sensitive key names, matched case-insensitively, not empty
     * @return a masker that also treats values after these keys as secret
     */
    public SecretMasker withKeys(String... moreKeys) {
        Set<String> all = new LinkedHashSet<>(keys);
        for (String key : moreKeys) {
            Objects.requireNonNull(key, "key");
            if (key.isBlank()) {
                throw new IllegalArgumentException("secret key must not be blank, was '" + key + "'");
            }
            all.add(key.toLowerCase(Locale.ROOT));
        }
        return new SecretMasker(List.copyOf(all), secrets);
    }

    /**
     * @param literalSecrets values masked wherever they occur (e.g. a password passed as a positional
     *     argument); empty strings are ignored
     * @return a masker that also masks these values
     */
    public SecretMasker withSecrets(String... literalSecrets) {
        Set<String> all = new LinkedHashSet<>(secrets);
        for (String secret : literalSecrets) {
            Objects.requireNonNull(secret, "secret");
            if (!secret.isEmpty()) {
                all.add(secret);
            }
        }
        List<String> sorted = new ArrayList<>(all);
        sorted.sort((a, b) -> Integer.compare(b.length(), a.length())); // longest first: no partial leftovers
        return new SecretMasker(keys, Collections.unmodifiableList(sorted));
    }

    /**
     * @param text any text, e.g. a command line or a process's output
     * @return {@code text} with every secret replaced by {@link #MASK}
     */
    public String mask(String text) {
        String masked = text;
        for (String secret : secrets) {
            masked = masked.replace(secret, MASK);
        }
        if (rules.isEmpty()) {
            return masked;
        }
        String lower = masked.toLowerCase(Locale.ROOT);
        boolean mentionsKey = false;
        for (String key : keys) {
            if (lower.contains(key)) {
                mentionsKey = true;
                break;
            }
        }
        if (!mentionsKey) {
            return masked;
        }
        for (Rule rule : rules) {
            masked = rule.apply(masked);
        }
        return masked;
    }

    /**
     * Masks a command given as its argument vector: an element that is a secret option ({@code --password},
     * {@code -passphrase}, {@code --os-token}) hides the whole next element, whatever it holds (spaces, a
     * leading {@code -}, quotes); an element {@code --password=...} or {@code password=...} hides all after
     * the {@code =}. The elements are then joined with spaces and {@link #mask(String) masked as text}.
     *
     * @param argv a program and its arguments
     * @return the command line to show, every secret replaced by {@link #MASK}
     */
    public String maskCommand(List<String> argv) {
        if (option == null || assignment == null) {
            return mask(String.join(" ", argv));
        }
        StringBuilder line = new StringBuilder();
        boolean hideNext = false;
        for (String arg : argv) {
            if (line.length() > 0) {
                line.append(' ');
            }
            Matcher a = assignment.matcher(arg);
            if (hideNext) {
                line.append(MASK);
                hideNext = false;
            } else if (option.matcher(arg).matches()) {
                line.append(arg);
                hideNext = true;
            } else if (a.lookingAt()) {
                line.append(arg, 0, a.end()).append(MASK);
            } else {
                line.append(arg);
            }
        }
        return mask(line.toString());
    }

    /**
     * @param argv a program and its arguments
     * @return this masker, also masking wherever they appear (in output, in messages) the values that
     *     {@link #maskCommand(List)} hides in {@code argv}, as far as they are at least
     *     {@value #MIN_LITERAL_FROM_COMMAND} characters long
     */
    SecretMasker withSecretsOf(List<String> argv) {
        if (option == null || assignment == null) {
            return this;
        }
        List<String> values = new ArrayList<>();
        for (int i = 0; i < argv.size(); i++) {
            String arg = argv.get(i);
            Matcher a = assignment.matcher(arg);
            String value = option.matcher(arg).matches() && i + 1 < argv.size() ? argv.get(i + 1)
                    : a.lookingAt() ? arg.substring(a.end()) : "";
            if (value.length() >= MIN_LITERAL_FROM_COMMAND) {
                values.add(value);
            }
        }
        return values.isEmpty() ? this : withSecrets(values.toArray(String[]::new));
    }

    /** One pattern; group "pre" and the optional group "post" are kept around the mask. */
    private static final class Rule {
        final Pattern pattern;
        final boolean hasPost;

        Rule(String regex, boolean hasPost) {
            this.pattern = Pattern.compile(regex, Pattern.CASE_INSENSITIVE | Pattern.DOTALL);
            this.hasPost = hasPost;
        }

        String apply(String text) {
            Matcher m = pattern.matcher(text);
            if (!m.find()) {
                return text;
            }
            StringBuilder out = new StringBuilder(text.length());
            do {
                String replacement = m.group("pre") + MASK + (hasPost ? m.group("post") : "");
                m.appendReplacement(out, Matcher.quoteReplacement(replacement));
            } while (m.find());
            m.appendTail(out);
            return out.toString();
        }
    }

    /**
     * oslo's {@code _FORMAT_PATTERNS_2} then {@code _FORMAT_PATTERNS_1}, for all keys at once, each at least
     * as strong as oslo's: a quoted value ends only at the quote that opened it (oslo stops at either quote,
     * leaving the rest of {@code 'a"b'} visible, and then removes text up to the last quote of the message
     * with its {@code _WILDCARD} pattern, which is therefore not needed here), and {@code password='v} without
     * a closing quote is masked too.
     */
    private static List<Rule> rules(List<String> keys) {
        String key = keys.stream().map(Pattern::quote).collect(Collectors.joining("|", "(?:", ")")) + "[0-9]*";
        String open = "(?<q>[\"'])";
        String value = "(?:(?!\\k<q>).)*";
        String close = "(?<post>\\k<q>)";
        String q = "[\"']";
        return Arrays.asList(
                // password = "v"  password='v'
                new Rule("(?<pre>" + key + "\\s*=\\s*" + open + ")" + value + close, true),
                // --password 'v'
                new Rule("(?<pre>" + key + "\\s+" + open + ")" + value + close, true),
                // --password v  --password -v  (oslo: exactly "--key"; here also --os-key). Only at the start
                // of a word: a match tried at every "--" of a long run of dashes or word characters would scan
                // the rest of the run from each, quadratic in its length (minutes for a 64 KiB line of dashes)
                new Rule("(?<pre>(?<![\\w-])--[\\w-]*" + key + "\\s+)[^'\"=\\s^]+(?<post>\\s*)", true),
                // <password>v</password>
                new Rule("(?<pre><" + key + ">)[^<]*(?<post></" + key + ">)", true),
                // "password": "v"  'db_password': u'v'
                new Rule("(?<pre>" + q + "[^\"']*" + key + q + "\\s*:\\s*u?" + open + ")" + value + close, true),
                // 'password', '-p', 'v'
                new Rule("(?<pre>" + q + "[^'\"]*" + key + q + "\\s*,\\s*'--?[A-z]+'\\s*,\\s*u?" + open + ")"
                        + value + close, true),
                // password -p v
                new Rule("(?<pre>" + key + "\\s*--?[A-z]+\\s*)\\S+(?<post>\\s*)", true),
                // password=v  password='v (no closing quote)
                new Rule("(?<pre>" + key + "\\s*=\\s*" + q + "?)[^\\s'\"^]+", false));
    }

    @Override
    public String toString() {
        return "SecretMasker[keys=" + keys + ", " + secrets.size() + " literal secrets]";
    }
}
