package dev.reactivelocks.benchmarks;

import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.jspecify.annotations.Nullable;

/**
 * The end-of-run table: each comparison as ours / baseline of the median scores (so a ratio above 1 means
 * "ours is larger": faster for throughput, slower for time per operation), with the project's target.
 */
final class Summary {

    /** One comparison; {@code minRatio} / {@code maxRatio} encode the target when there is one. */
    record Row(String ours, String baseline, @Nullable Double minRatio, @Nullable Double maxRatio) {
        static Row plain(String ours, String baseline) {
            return new Row(ours, baseline, null, null);
        }
    }

    record Section(String title, String scoreMeaning, List<Row> rows) {
    }

    /** {@code PostgresBenchmark.durableCommit} (commits per second) as microseconds per commit. */
    static final String DURABLE_COMMIT_MICROS = "PostgresBenchmark.durableCommit:us/op";

    static final List<Section> SECTIONS = List.of(
            new Section("1. Uncontended acquire + release", "time per op: ratio < 1 = ours faster", List.of(
                    new Row("UncontendedBenchmark.ours_acquireRelease", "UncontendedBenchmark.reactorFloor", null, 2.0),
                    Row.plain("UncontendedBenchmark.ours_acquireRelease", "UncontendedBenchmark.subscriptionFloor"),
                    Row.plain("UncontendedBenchmark.subscriptionFloor", "UncontendedBenchmark.reactorFloor"),
                    Row.plain("UncontendedBenchmark.ours_acquireRelease", "UncontendedBenchmark.reentrantLock_lockUnlock"),
                    Row.plain("UncontendedBenchmark.ours_acquireRelease", "UncontendedBenchmark.kotlinMutex_tryLockUnlock"),
                    Row.plain("UncontendedBenchmark.ours_withLock", "UncontendedBenchmark.kotlinMutex_lockViaMonoBridge"),
                    Row.plain("UncontendedBenchmark.ours_acquireRelease_eventLoopBatch",
                            "UncontendedBenchmark.vertx_localLock_eventLoopBatch"))),
            new Section("2. Contended hand-off, 200 pipelines, one hop in the critical section",
                    "hand-offs per second: ratio > 1 = ours faster", List.of(
                    new Row("HandoffBenchmark.ours_withLock", "HandoffBenchmark.vertx_localLock", 1.5, null),
                    new Row("HandoffBenchmark.ours_withLock", "HandoffBenchmark.kotlinMutex_lockViaMonoBridge", 1.5, null),
                    Row.plain("HandoffBenchmark.ours_withLock", "HandoffBenchmark.reentrantLock_threads"),
                    Row.plain("HandoffBenchmark.ours_withLock", "HandoffBenchmark.reentrantLockFair_threads"))),
            new Section("2. Contended hand-off, 200 pipelines, no hop (the lock's own hand-off cost)",
                    "hand-offs per second: ratio > 1 = ours faster", List.of(
                    new Row("HandoffBenchmark.ours_withLock_noHop", "HandoffBenchmark.vertx_localLock_noHop", 2.0, null),
                    new Row("HandoffBenchmark.ours_withLock_noHop",
                            "HandoffBenchmark.kotlinMutex_lockViaMonoBridge_noHop", 2.0, null),
                    Row.plain("HandoffBenchmark.ours_withLock_noHop", "HandoffFloorProbe.spinFlag_noHop"))),
            new Section("3. 90 % shared / 10 % exclusive, 8 workers", "operations per second: ratio > 1 = ours faster",
                    List.of(
                    Row.plain("SharedExclusiveBenchmark.ours_sharedExclusive", "SharedExclusiveBenchmark.readWriteLock_threads"),
                    Row.plain("SharedExclusiveBenchmark.ours_sharedExclusive",
                            "SharedExclusiveBenchmark.readWriteLockFair_threads"))),
            new Section("4. File lock, uncontended acquire + release", "time per op: ratio < 1 = ours faster",
                    List.of(
                    new Row("FileLockBenchmark.ours_acquireRelease_sequential",
                            "FileLockBenchmark.raw_lockRelease_openChannel", null, 1.3),
                    new Row("FileLockBenchmark.ours_acquireRelease_sequential",
                            "FileLockBenchmark.raw_openLockReleaseClose", null, 1.0),
                    Row.plain("FileLockBenchmark.ours_acquireRelease_block",
                            "FileLockBenchmark.raw_lockRelease_openChannel"))),
            new Section("4. 1,000 waiters on one lock file", "threads added while they wait / ms to serve all", List.of(
                    Row.plain("file.waiters.ours.threads", "file.waiters.threadPerWaiter.threads"),
                    Row.plain("file.waiters.ours.peakThreads", "file.waiters.threadPerWaiter.peakThreads"),
                    Row.plain("file.waiters.ours.millis", "file.waiters.threadPerWaiter.millis"))),
            new Section("5. PostgreSQL, hand-offs: 8 contenders on one name (handoff8), 4 on each of 64 names"
                    + " (handoff64x4); grants/s, and owner changes/s (:ownerChanges, the true hand-offs)",
                    "per second: ratio > 1 = ours faster", List.of(
                    Row.plain("PostgresBenchmark.ours_handoff8", "PostgresBenchmark.pgAdvisoryLock_handoff8"),
                    Row.plain("PostgresBenchmark.ours_handoff8", "PostgresBenchmark.springJdbcLockRegistry_handoff8"),
                    new Row("PostgresBenchmark.ours_handoff8:ownerChanges",
                            "PostgresBenchmark.springJdbcLockRegistry_handoff8:ownerChanges", 10.0, null),
                    Row.plain("PostgresBenchmark.ours_handoff8:ownerChanges",
                            "PostgresBenchmark.pgAdvisoryLock_handoff8:ownerChanges"),
                    new Row("PostgresBenchmark.ours_handoff8:ownerChanges", "PostgresBenchmark.durableCommit", 0.5, null),
                    Row.plain("PostgresBenchmark.ours_handoff64x4:ownerChanges",
                            "PostgresBenchmark.springJdbcLockRegistry_handoff64x4:ownerChanges"),
                    Row.plain("PostgresBenchmark.ours_handoff64x4:ownerChanges",
                            "PostgresBenchmark.pgAdvisoryLock_handoff64x4:ownerChanges"),
                    new Row("PostgresBenchmark.ours_handoff8", "RedisBenchmark.redissonLock_handoff8", 5.0, null))),
            new Section("5. PostgreSQL, uncontended acquire + release; durableCommit:us/op = time of one durable"
                    + " one-row commit (JDBC)", "time per op: ratio < 1 = ours faster", List.of(
                    Row.plain("PostgresBenchmark.ours_uncontended", "PostgresBenchmark.pgAdvisoryLock_uncontended"),
                    Row.plain("PostgresBenchmark.ours_uncontended",
                            "PostgresBenchmark.springJdbcLockRegistry_uncontended"),
                    new Row("PostgresBenchmark.ours_uncontended", DURABLE_COMMIT_MICROS, null, 3.0))),
            new Section("5. Redis, hand-offs: 8 contenders on one name (handoff8), 4 on each of 64 names"
                    + " (handoff64x4); grants/s, and owner changes/s (:ownerChanges, the true hand-offs)",
                    "per second: ratio > 1 = ours faster", List.of(
                    Row.plain("RedisBenchmark.ours_handoff8", "RedisBenchmark.redissonLock_handoff8"),
                    Row.plain("RedisBenchmark.ours_handoff8", "RedisBenchmark.redissonFairLock_handoff8"),
                    new Row("RedisBenchmark.ours_handoff8:ownerChanges",
                            "RedisBenchmark.redissonLock_handoff8:ownerChanges", 2.0, null),
                    Row.plain("RedisBenchmark.ours_handoff8:ownerChanges",
                            "RedisBenchmark.redissonFairLock_handoff8:ownerChanges"),
                    new Row("RedisBenchmark.ours_handoff8:ownerChanges",
                            "RedisBenchmark.springRedisLockRegistrySpin_handoff8:ownerChanges", 1.5, null),
                    new Row("RedisBenchmark.ours_handoff8:ownerChanges",
                            "RedisBenchmark.springRedisLockRegistryPubSub_handoff8:ownerChanges", 1.5, null),
                    Row.plain("RedisBenchmark.ours_handoff64x4:ownerChanges",
                            "RedisBenchmark.redissonLock_handoff64x4:ownerChanges"),
                    Row.plain("RedisBenchmark.ours_handoff64x4:ownerChanges",
                            "RedisBenchmark.redissonFairLock_handoff64x4:ownerChanges"),
                    Row.plain("RedisBenchmark.ours_handoff64x4:ownerChanges",
                            "RedisBenchmark.springRedisLockRegistrySpin_handoff64x4:ownerChanges"),
                    Row.plain("RedisBenchmark.ours_handoff64x4:ownerChanges",
                            "RedisBenchmark.springRedisLockRegistryPubSub_handoff64x4:ownerChanges"))),
            new Section("5. Redis, uncontended acquire + release", "time per op: ratio < 1 = ours faster", List.of(
                    Row.plain("RedisBenchmark.ours_uncontended", "RedisBenchmark.redissonLock_uncontended"),
                    Row.plain("RedisBenchmark.ours_uncontended", "RedisBenchmark.redissonFairLock_uncontended"),
                    Row.plain("RedisBenchmark.ours_uncontended", "RedisBenchmark.springRedisLockRegistrySpin_uncontended"),
                    Row.plain("RedisBenchmark.ours_uncontended",
                            "RedisBenchmark.springRedisLockRegistryPubSub_uncontended"))),
            new Section("6. Process executor: /bin/true, one at a time", "spawns per second: ratio > 1 = ours faster",
                    List.of(Row.plain("ProcessSpawnBenchmark.ours_execute",
                            "ProcessSpawnBenchmark.processBuilder_startWaitFor"))),
            new Section("6. 200 children streaming 300 KB over 3 s each",
                    "wall ms / peak threads: ratio < 1 = ours better", List.of(
                    new Row("process.stream.ours.millis", "process.stream.nuProcess.millis", null, 1.2),
                    Row.plain("process.stream.ours.millis", "process.stream.naiveBoundedElastic.millis"),
                    Row.plain("process.stream.ours.libraryThreads", "process.stream.nuProcess.libraryThreads"),
                    Row.plain("process.stream.ours.libraryThreads", "process.stream.naiveBoundedElastic.libraryThreads"),
                    Row.plain("process.stream.ours.threads", "process.stream.naiveBoundedElastic.threads"))),
            new Section("7. Memory per pending waiter (100,000 waiters on one name)", "bytes: ratio < 1 = ours smaller",
                    List.of(
                    new Row("ours.waiter.minimalSubscriber", "kotlin.waiter.direct", null, null),
                    new Row("ours.waiter.lambdaSubscribe", "kotlin.waiter.monoBridge", null, null),
                    new Row("ours.waiter.lambdaSubscribe", "vertx.waiter", null, null),
                    new Row("ours.waiter.withLock", "vertx.waiter", null, null))),
            new Section("7. Heap retained after 1,000,000 distinct names", "MB: ratio < 1 = ours smaller", List.of(
                    Row.plain("ours.names", "vertx.names"),
                    Row.plain("ours.names", "map.reentrantLock.names"),
                    Row.plain("ours.names", "map.kotlinMutex.names"))));

    static final List<String> FAIRNESS = List.of(
            "HandoffBenchmark.ours_withLock", "HandoffBenchmark.kotlinMutex_lockViaMonoBridge",
            "HandoffBenchmark.vertx_localLock", "HandoffBenchmark.reentrantLock_threads",
            "HandoffBenchmark.reentrantLockFair_threads",
            "PostgresBenchmark.ours_handoff8", "PostgresBenchmark.pgAdvisoryLock_handoff8",
            "PostgresBenchmark.springJdbcLockRegistry_handoff8",
            "PostgresBenchmark.ours_handoff64x4", "PostgresBenchmark.pgAdvisoryLock_handoff64x4",
            "PostgresBenchmark.springJdbcLockRegistry_handoff64x4",
            "RedisBenchmark.ours_handoff8", "RedisBenchmark.redissonLock_handoff8",
            "RedisBenchmark.redissonFairLock_handoff8", "RedisBenchmark.springRedisLockRegistrySpin_handoff8",
            "RedisBenchmark.springRedisLockRegistryPubSub_handoff8",
            "RedisBenchmark.ours_handoff64x4", "RedisBenchmark.redissonLock_handoff64x4",
            "RedisBenchmark.redissonFairLock_handoff64x4", "RedisBenchmark.springRedisLockRegistrySpin_handoff64x4",
            "RedisBenchmark.springRedisLockRegistryPubSub_handoff64x4");

    private Summary() {
    }

    static String render(Map<String, Double> scores, Map<String, String> units, Map<String, double[]> fairness,
                         Map<String, Double> memory) {
        StringBuilder out = new StringBuilder();
        out.append("\n==== reactive-locks: ours / baseline (median of measurement iterations) ====\n");
        for (Section s : SECTIONS) {
            out.append("\n").append(s.title()).append("  [").append(s.scoreMeaning()).append("]\n\n");
            out.append("| ours | score | baseline | score | ours / baseline | target |\n");
            out.append("|---|---:|---|---:|---:|---|\n");
            for (Row r : s.rows()) {
                Double ours = value(scores, memory, r.ours());
                Double base = value(scores, memory, r.baseline());
                String unit = units.getOrDefault(r.ours(), "");
                out.append("| ").append(r.ours()).append(" | ").append(num(ours)).append(' ').append(unit)
                        .append(" | ").append(r.baseline()).append(" | ").append(num(base)).append(' ').append(unit)
                        .append(" | ").append(ours == null || base == null ? "n/a" : ratio(ours / base))
                        .append(" | ").append(target(r, ours, base)).append(" |\n");
            }
        }
        Double minimal = memory.get("ours.waiter.minimalSubscriber");
        if (minimal != null) {
            out.append("\nTarget <= 200 bytes per pending waiter: ours ").append(num(minimal))
                    .append(" bytes (minimal subscriber) -> ").append(minimal <= 200 ? "met" : "NOT met").append('\n');
        }
        if (!fairness.isEmpty()) {
            out.append("\n2. and 5. Fairness: grants per pipeline over the measurement iterations\n\n");
            out.append("| candidate | min | max | mean | max / min |\n|---|---:|---:|---:|---:|\n");
            for (String name : FAIRNESS) {
                double[] f = fairness.get(name);
                if (f != null) {
                    out.append("| ").append(name).append(" | ").append(num(f[0])).append(" | ").append(num(f[1]))
                            .append(" | ").append(num(f[2])).append(" | ")
                            .append(f[0] == 0 ? "inf" : ratio(f[1] / f[0])).append(" |\n");
                }
            }
        }
        Double library = memory.get("file.waiters.ours.libraryThreads");
        if (library != null) {
            out.append("\n4. File scheduler threads in all while 1,000 waiters wait: ").append(num(library)).append('\n');
        }
        out.append("\nNot yet measured: 6. 500 children (run ProcessStreamingProbe 500 by hand).\n");
        return out.toString();
    }

    private static @Nullable Double value(Map<String, Double> scores, Map<String, Double> memory, String key) {
        if (key.equals(DURABLE_COMMIT_MICROS)) {
            Double commitsPerSecond = scores.get("PostgresBenchmark.durableCommit");
            return commitsPerSecond == null ? null : 1e6 / commitsPerSecond;
        }
        Double v = scores.get(key);
        return v != null ? v : memory.get(key);
    }

    private static String target(Row r, @Nullable Double ours, @Nullable Double base) {
        if (r.minRatio() == null && r.maxRatio() == null) {
            return "";
        }
        String wanted = r.minRatio() != null ? ">= " + r.minRatio() : "<= " + r.maxRatio();
        if (ours == null || base == null) {
            return wanted;
        }
        double q = ours / base;
        boolean met = (r.minRatio() == null || q >= r.minRatio()) && (r.maxRatio() == null || q <= r.maxRatio());
        return wanted + (met ? " met" : " NOT met");
    }

    private static String num(@Nullable Double v) {
        if (v == null) {
            return "n/a";
        }
        return String.format(Locale.ROOT, Math.abs(v) >= 100 ? "%,.0f" : "%.2f", v);
    }

    private static String ratio(double q) {
        return String.format(Locale.ROOT, "%.2f", q);
    }
}
