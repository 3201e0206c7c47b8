package dev.reactivelocks.benchmarks;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import org.jspecify.annotations.Nullable;
import org.openjdk.jmh.infra.IterationParams;
import org.openjdk.jmh.runner.IterationType;

/**
 * Grants per pipeline over the measurement iterations of one trial, written to
 * {@code <tmpdir>/reactive-locks-benchmarks/fairness/<benchmark>.txt} as
 * {@code min max mean pipelines} so that {@link BenchmarkMain} (in the parent JVM) can report them.
 */
final class Fairness {

    private final long[] totals;
    private boolean measuring;

    Fairness(int pipelines) {
        this.totals = new long[pipelines];
    }

    static Path directory() {
        return Path.of(System.getProperty("java.io.tmpdir"), "reactive-locks-benchmarks", "fairness");
    }

    void startIteration(IterationParams params) {
        measuring = params.getType() == IterationType.MEASUREMENT;
    }

    /** Adds one iteration's grants per pipeline (ignored during warmup). */
    void endIteration(int[] grantsPerPipeline) {
        if (measuring) {
            for (int i = 0; i < totals.length; i++) {
                totals[i] += grantsPerPipeline[i];
            }
        }
    }

    void write(String benchmark) {
        long min = Long.MAX_VALUE;
        long max = 0;
        long sum = 0;
        for (long t : totals) {
            min = Math.min(min, t);
            max = Math.max(max, t);
            sum += t;
        }
        double mean = (double) sum / totals.length;
        String line = String.format(Locale.ROOT, "%d %d %.1f %d%n", min, max, mean, totals.length);
        System.out.printf(Locale.ROOT, "%nFairness %s: grants per pipeline min=%d max=%d mean=%.1f (%d pipelines)%n",
                benchmark, min, max, mean, totals.length);
        try {
            Files.createDirectories(directory());
            Files.writeString(directory().resolve(benchmark + ".txt"), line, StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /**
     * Reads what a forked trial wrote: {@code [min, max, mean]}, or {@code null} when absent or older than
     * {@code sinceMillis} (left by an earlier run).
     */
    static @Nullable double[] read(String benchmark, long sinceMillis) {
        Path file = directory().resolve(benchmark + ".txt");
        try {
            if (!Files.exists(file) || Files.getLastModifiedTime(file).toMillis() < sinceMillis) {
                return null;
            }
            String[] parts = Files.readString(file, StandardCharsets.UTF_8).trim().split(" ");
            List<Double> values = new ArrayList<>();
            for (String p : parts) {
                values.add(Double.parseDouble(p));
            }
            return new double[] {values.get(0), values.get(1), values.get(2)};
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
