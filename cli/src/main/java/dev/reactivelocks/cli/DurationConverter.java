package dev.reactivelocks.cli;

import java.time.Duration;
import java.time.format.DateTimeParseException;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import picocli.CommandLine.ITypeConverter;
import picocli.CommandLine.TypeConversionException;

/**
 * Parses durations written as a whole number and a unit — {@code 250ms}, {@code 10s}, {@code 2m},
 * {@code 1h} — or in ISO-8601 ({@code PT1.5S}). A bare {@code 0} is accepted too, as {@code flock -w 0}
 * users write it: zero needs no unit. Negative durations are refused; {@code 0} and {@code 0s} mean "do
 * not wait". An invalid value is a usage error.
 */
final class DurationConverter implements ITypeConverter<Duration> {

    private static final Pattern SIMPLE = Pattern.compile("(\\d{1,18})(ms|s|m|h)");

    @Override
    public Duration convert(String value) {
        Duration d = parse(value);
        if (d.isNegative()) {
            throw new TypeConversionException("'" + value + "' is negative; expected a duration >= 0");
        }
        return d;
    }

    private static Duration parse(String value) {
        String text = value.strip();
        if (text.equals("0")) {
            return Duration.ZERO;
        }
        Matcher m = SIMPLE.matcher(text);
        if (m.matches()) {
            long amount = Long.parseLong(m.group(1));
            try {
                switch (m.group(2)) {
                    case "ms":
                        return Duration.ofMillis(amount);
                    case "s":
                        return Duration.ofSeconds(amount);
                    case "m":
                        return Duration.ofMinutes(amount);
                    default:
                        return Duration.ofHours(amount);
                }
            } catch (ArithmeticException e) {
                throw invalid(value);
            }
        }
        if (text.toUpperCase(Locale.ROOT).startsWith("P")) {
            try {
                return Duration.parse(text);
            } catch (DateTimeParseException e) {
                throw invalid(value);
            }
        }
        throw invalid(value);
    }

    private static TypeConversionException invalid(String value) {
        return new TypeConversionException("'" + value + "' is not a duration; expected a whole number followed"
                + " by ms, s, m or h (for example 250ms, 10s, 2m) or ISO-8601 (PT1.5S)");
    }

    /** Formats {@code d} for messages: {@code 250ms}, {@code 10s}, {@code 2m}, {@code 1500ms}. */
    static String format(Duration d) {
        if (d.isZero()) {
            return "0s";
        }
        if (d.getNano() % 1_000_000 != 0) {
            return d.toString();
        }
        long millis = d.toMillis();
        if (millis % 60_000 == 0) {
            return millis / 60_000 + "m";
        }
        if (millis % 1000 == 0) {
            return millis / 1000 + "s";
        }
        return millis + "ms";
    }
}
