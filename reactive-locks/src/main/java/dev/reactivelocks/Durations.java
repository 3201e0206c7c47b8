package dev.reactivelocks;

import java.time.Duration;

/** Formats durations for messages: {@code 250ms}, {@code 2s}, {@code 1500ms}, {@code 3m}. */
final class Durations {

    private Durations() {
    }

    static String format(Duration d) {
        if (d.isZero()) {
            return "0ms";
        }
        if (d.getNano() % 1_000_000 != 0 || d.isNegative()) {
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
