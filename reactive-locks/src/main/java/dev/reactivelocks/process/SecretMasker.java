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

/**
 * Replaces secrets in commands, log lines and exception texts with {@code ***}, following the rules of
 * oslo.utils' {@code strutils.mask_password}: a value is secret when it follows a sensitive key
 * ({@code password}, {@code token}, {@code secret}, … matched case-insensitively, also inside longer names
 * such as {@code db_password}) in one of these forms:
 * <ul>
 *   <li>{@code password=s3cr3t}, {@code password = "s3cr3t"}, {@code password='s3cr3t'};</li>
 *   <li>command-line options {@code --password s3cr3t} (and {@code --password=s3cr3t});</li>
 *   <li>JSON or Python dicts: {@code "password": "s3cr3t"}, {@code 'admin_password': 's3cr3t'};</li>
 *   <li>XML: {@code <password>s3cr3t</password>}.</li>
 * </ul>
 * Literal values added with {@link #withSecrets(String...)} are masked wherever they appear.
 *
 * <p>Instances are immutable and thread-safe.
 */
public final class SecretMasker {

    /** The mask that replaces every secret. */
    public static final String MASK = "***";

    private static final List<String> DEFAULT_KEYS = List.of(
            "adminpass", "admin_pass", "new_pass", "password", "passwd", "pswd", "passphrase", "secret", "token",
            "auth_key", "private_key", "encrypted_key", "encryption_key", "fernetkey", "sslkey", "cephxkey",
            "keyfile", "configdrive");

    private static final SecretMasker DEFAULTS = new SecretMasker(DEFAULT_KEYS, List.of());
    private static final SecretMasker NONE = new SecretMasker(List.of(), List.of());

    private final List<String> keys;
    private final List<String> secrets;
    private final List<Rule> rules;

    private SecretMasker(List<String> keys, List<String> secrets) {
        this.keys = keys;
        this.secrets = secrets;
        this.rules = keys.isEmpty() ? List.of() : rules(keys);
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

    private static List<Rule> rules(List<String> keys) {
        String k = keys.stream().map(Pattern::quote).collect(Collectors.joining("|", "(?:", ")"));
        String key = k + "[0-9_]*";
        return Arrays.asList(
                // <password>v</password>
                new Rule("(?<pre><" + key + ">)[^<]*(?<post></" + key + ">)", true),
                // "password": "v"  and  'db_password': u'v'
                new Rule("(?<pre>[\"'][^\"'\\s]*" + key + "[\"']\\s*:\\s*u?[\"'])[^\"']*(?<post>[\"'])", true),
                // password = "v"  and  password='v'
                new Rule("(?<pre>" + key + "\\s*=\\s*[\"'])[^\"']*(?<post>[\"'])", true),
                // password=v
                new Rule("(?<pre>" + key + "\\s*=\\s*)[^\\s\"']+", false),
                // --password v
                new Rule("(?<pre>--[\\w-]*" + key + "\\s+)[^\\s\"'=-][^\\s\"'=]*", false));
    }

    @Override
    public String toString() {
        return "SecretMasker[keys=" + keys + ", " + secrets.size() + " literal secrets]";
    }
}
