package dev.reactivelocks.benchmarks;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.lang.management.ManagementFactory;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import org.openjdk.jmh.results.RunResult;
import org.openjdk.jmh.runner.Runner;
import org.openjdk.jmh.runner.options.CommandLineOptions;

/**
 * The benchmarks jar's entry point: runs the selected JMH benchmarks (any {@code org.openjdk.jmh.Main}
 * option is accepted), then the memory and file-waiter probes in fresh JVMs, and prints every comparison as a ratio
 * ours / baseline of the median scores, next to the project's target.
 *
 * <p>Secondary results (such as {@code ownerChanges} of the hand-off benchmarks) are compared too, under the
 * name {@code <benchmark>:<secondary>} as JMH prints them.
 *
 * <p>A loaded machine flatters some candidates and hurts others, so a run prints the 1-minute load average
 * at its start and end, and refuses to start when it is above {@value #MAX_LOAD} unless given
 * {@code --allow-loaded-machine} (for trying a benchmark out, never for publishing its numbers).
 *
 * <p>Extra options, removed before JMH sees the rest: {@code --no-memory} skips the probes
 * ({@link MemoryFootprint}, {@link FileWaitersProbe}); {@code --memory-only} runs only them;
 * {@code --allow-loaded-machine} runs whatever the load. {@code -h}, {@code -l}, {@code -lp}, {@code -lprof}
 * and {@code -lrf} go straight to JMH.
 */
public final class BenchmarkMain {

    private static final Set<String> JMH_ONLY = Set.of("-h", "-l", "-lp", "-lprof", "-lrf");
    static final double MAX_LOAD = 1.5;

    private BenchmarkMain() {
    }

    /** {@code dev.reactivelocks.benchmarks.HandoffBenchmark.ours_withLock} → {@code HandoffBenchmark.ours_withLock}. */
    static String shortName(String benchmark) {
        int method = benchmark.lastIndexOf('.');
        int type = benchmark.lastIndexOf('.', method - 1);
        return benchmark.substring(type + 1);
    }

    public static void main(String[] args) throws Exception {
        boolean memory = true;
        boolean jmh = true;
        boolean allowLoad = false;
        List<String> jmhArgs = new ArrayList<>();
        for (String a : args) {
            if (JMH_ONLY.contains(a)) {
                org.openjdk.jmh.Main.main(args);
                return;
            } else if (a.equals("--no-memory")) {
                memory = false;
            } else if (a.equals("--memory-only")) {
                jmh = false;
            } else if (a.equals("--allow-loaded-machine")) {
                allowLoad = true;
            } else {
                jmhArgs.add(a);
            }
        }
        double loadAtStart = loadAverage();
        System.out.printf(Locale.ROOT, "# Load average (1 min) at start: %.2f%n", loadAtStart);
        if (loadAtStart > MAX_LOAD && !allowLoad) {
            System.out.printf(Locale.ROOT, "Refusing to run: the 1-minute load average is %.2f, above %.1f, and"
                    + " results on a loaded machine are not comparable. Wait for a quiet machine, or add"
                    + " --allow-loaded-machine to try the benchmarks out (never to publish their numbers).%n",
                    loadAtStart, MAX_LOAD);
            System.exit(2);
        }
        Map<String, Double> scores = new HashMap<>();
        Map<String, String> units = new HashMap<>();
        Map<String, double[]> fairness = new HashMap<>();
        if (jmh) {
            long startMillis = System.currentTimeMillis() - 1_000;
            CommandLineOptions options = new CommandLineOptions(jmhArgs.toArray(new String[0]));
            Collection<RunResult> results = new Runner(options).run();
            for (RunResult r : results) {
                String name = shortName(r.getParams().getBenchmark());
                scores.put(name, r.getPrimaryResult().getStatistics().getPercentile(50));
                units.put(name, r.getPrimaryResult().getScoreUnit());
                r.getSecondaryResults().forEach((label, result) -> {
                    scores.put(name + ":" + label, result.getStatistics().getPercentile(50));
                    units.put(name + ":" + label, result.getScoreUnit());
                });
                double[] f = Fairness.read(name, startMillis);
                if (f != null) {
                    fairness.put(name, f);
                }
            }
        }
        Map<String, Double> memoryResults = memory ? runMemoryProbe() : Map.of();
        System.out.println(Summary.render(scores, units, fairness, memoryResults));
        System.out.printf(Locale.ROOT, "# Load average (1 min) at start: %.2f, at end: %.2f%s%n", loadAtStart,
                loadAverage(), loadAtStart > MAX_LOAD ? " (above " + MAX_LOAD + ": do not publish)" : "");
    }

    /** The 1-minute load average: from {@code /proc/loadavg}, else the JVM's (-1 where neither has one). */
    static double loadAverage() {
        try {
            return Double.parseDouble(Files.readString(Path.of("/proc/loadavg")).trim().split("\\s+")[0]);
        } catch (IOException | RuntimeException e) {
            return ManagementFactory.getOperatingSystemMXBean().getSystemLoadAverage();
        }
    }

    /**
     * Runs each {@link MemoryFootprint} case in a fresh JVM with a fixed heap and the serial collector, then
     * {@link FileWaitersProbe} and {@link ProcessStreamingProbe} in others.
     */
    private static Map<String, Double> runMemoryProbe() throws IOException, InterruptedException {
        String java = ProcessHandle.current().info().command().orElse("java");
        Map<String, Double> results = new HashMap<>();
        System.out.println("\n# Memory probe: " + java + " -XX:+UseSerialGC -Xms2g -Xmx2g -cp <this jar> "
                + MemoryFootprint.class.getName() + " <case>, one JVM per case");
        for (String key : MemoryFootprint.KEYS) {
            runMemoryCase(List.of(java, "-XX:+UseSerialGC", "-Xms2g", "-Xmx2g",
                    "-cp", System.getProperty("java.class.path"), MemoryFootprint.class.getName(), key), results);
        }
        System.out.println("\n# File lock waiters probe: " + FileWaitersProbe.class.getName());
        runMemoryCase(List.of(java, "-Xms1g", "-Xmx1g", "-cp", System.getProperty("java.class.path"),
                FileWaitersProbe.class.getName()), results);
        System.out.println("\n# Process streaming probe: " + ProcessStreamingProbe.class.getName() + " 200");
        runMemoryCase(List.of(java, "-Xms1g", "-Xmx1g", "-cp", System.getProperty("java.class.path"),
                ProcessStreamingProbe.class.getName(), "200"), results);
        return results;
    }

    private static void runMemoryCase(List<String> command, Map<String, Double> results)
            throws IOException, InterruptedException {
        Process process = new ProcessBuilder(command).redirectErrorStream(true).start();
        try (BufferedReader out = new BufferedReader(
                new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8))) {
            String line;
            while ((line = out.readLine()) != null) {
                if (line.startsWith("RESULT ")) {
                    String[] parts = line.split(" ");
                    results.put(parts[1], Double.parseDouble(parts[2]));
                } else if (line.startsWith("  ")) {
                    System.out.println(line);
                }
            }
        }
        int exit = process.waitFor();
        if (exit != 0) {
            System.out.println("# Memory case " + command.get(command.size() - 1) + " exited with " + exit);
        }
    }
}
