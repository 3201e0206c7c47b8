package dev.reactivelocks.benchmarks;

import dev.reactivelocks.process.ProcessExecutor;
import dev.reactivelocks.process.ProcessSpec;
import java.io.IOException;
import java.io.InputStream;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.atomic.AtomicLong;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import reactor.core.scheduler.Schedulers;

/**
 * Comparison 6b: {@code N} concurrent children (default 200; pass a number to change it), each streaming
 * 300 KB over about 3 s (30 chunks of 10 KB, 100 ms apart, written by a small perl loop). Reports the wall
 * time until every child's output was read and every child reaped, the bytes read (checked), and the
 * JVM's peak thread count above the count before the run.
 *
 * <p>Ours: {@code ProcessExecutor.stream(spec)} for each child, all subscribed at once. Baselines:
 * NuProcess 3.0.0 (its own pumper threads, {@code onStdout} callbacks), and the naive reactive way, {@code ProcessBuilder.start()} and a blocking read loop per stream on
 * {@code Schedulers.boundedElastic()} (whose default cap is 10 threads per core).
 *
 * <p>Prints {@code RESULT <key> <value>} lines for {@link BenchmarkMain}.
 */
public final class ProcessStreamingProbe {

    static final int CHUNKS = 30;
    static final int CHUNK = 10 * 1024;
    static final List<String> COMMAND = List.of("perl", "-e",
            "$|=1; for (1.." + CHUNKS + ") { print 'x' x " + CHUNK + "; select(undef, undef, undef, 0.1); }");
    private static final ThreadMXBean THREADS = ManagementFactory.getThreadMXBean();

    private ProcessStreamingProbe() {
    }

    public static void main(String[] args) throws Exception {
        int children = args.length > 0 ? Integer.parseInt(args[0]) : 200;
        ours(children);
        nuProcess(children);
        naiveBoundedElastic(children);
    }

    static void ours(int children) throws InterruptedException {
        ProcessExecutor executor = ProcessExecutor.create();
        ProcessSpec spec = ProcessSpec.command(COMMAND).build();
        executor.execute(ProcessSpec.command("/bin/true").build()).block(Duration.ofSeconds(30)); // start threads
        Thread.sleep(200);
        int before = THREADS.getThreadCount();
        THREADS.resetPeakThreadCount();
        ThreadSampler sampler = ThreadSampler.start("reactive-locks-process");
        AtomicLong bytes = new AtomicLong();
        long start = System.nanoTime();
        Flux.range(0, children)
                .flatMap(i -> executor.stream(spec).doOnNext(o -> bytes.addAndGet(o.size())).then(), children)
                .blockLast(Duration.ofMinutes(5));
        long millis = (System.nanoTime() - start) / 1_000_000;
        report("ours", "ours: ProcessExecutor.stream", children, millis, bytes.get(),
                THREADS.getPeakThreadCount() - before, before, sampler.stop());
        executor.disposeLater().block(Duration.ofSeconds(30));
    }

    static void nuProcess(int children) throws InterruptedException {
        Thread.sleep(200);
        int before = THREADS.getThreadCount();
        THREADS.resetPeakThreadCount();
        ThreadSampler sampler = ThreadSampler.start("\u0000"); // counts reapers only
        AtomicLong bytes = new AtomicLong();
        java.util.concurrent.CountDownLatch exited = new java.util.concurrent.CountDownLatch(children);
        long start = System.nanoTime();
        for (int i = 0; i < children; i++) {
            com.zaxxer.nuprocess.NuProcessBuilder builder = new com.zaxxer.nuprocess.NuProcessBuilder(COMMAND);
            builder.setProcessListener(new com.zaxxer.nuprocess.NuAbstractProcessHandler() {
                @Override
                public void onStdout(java.nio.ByteBuffer buffer, boolean closed) {
                    bytes.addAndGet(buffer.remaining());
                    buffer.position(buffer.limit());
                }

                @Override
                public void onExit(int exitCode) {
                    exited.countDown();
                }
            });
            builder.start();
        }
        if (!exited.await(5, java.util.concurrent.TimeUnit.MINUTES)) {
            throw new IllegalStateException("NuProcess children did not exit in 5 minutes");
        }
        long millis = (System.nanoTime() - start) / 1_000_000;
        int[] sampled = sampler.stop();
        sampled[0] = THREADS.getPeakThreadCount() - before; // NuProcess's own threads: all the JVM gained
        report("nuProcess", "baseline: NuProcess 3.0.0 (onStdout callbacks)", children, millis, bytes.get(),
                THREADS.getPeakThreadCount() - before, before, sampled);
    }

    static void naiveBoundedElastic(int children) throws InterruptedException {
        Thread.sleep(200);
        int before = THREADS.getThreadCount();
        THREADS.resetPeakThreadCount();
        ThreadSampler sampler = ThreadSampler.start("boundedElastic");
        AtomicLong bytes = new AtomicLong();
        long start = System.nanoTime();
        Flux.range(0, children)
                .flatMap(i -> Mono.fromCallable(() -> {
                    Process p = new ProcessBuilder(COMMAND).redirectErrorStream(true).start();
                    bytes.addAndGet(drain(p.getInputStream()));
                    return p.waitFor();
                }).subscribeOn(Schedulers.boundedElastic()), children)
                .blockLast(Duration.ofMinutes(10));
        long millis = (System.nanoTime() - start) / 1_000_000;
        report("naiveBoundedElastic", "baseline: blocking reader per stream on boundedElastic", children, millis,
                bytes.get(), THREADS.getPeakThreadCount() - before, before, sampler.stop());
    }

    /** Samples live threads every 50 ms: the most seen whose name starts with a prefix, and JDK reapers. */
    static final class ThreadSampler implements Runnable {
        private final String prefix;
        private final Thread thread;
        private volatile boolean running = true;
        private volatile int maxLibrary;
        private volatile int maxReapers;

        private ThreadSampler(String prefix) {
            this.prefix = prefix;
            this.thread = new Thread(this, "thread-sampler");
            thread.setDaemon(true);
        }

        static ThreadSampler start(String prefix) {
            ThreadSampler s = new ThreadSampler(prefix);
            s.thread.start();
            return s;
        }

        @Override
        public void run() {
            while (running) {
                int library = 0;
                int reapers = 0;
                for (Thread t : Thread.getAllStackTraces().keySet()) {
                    if (t.getName().startsWith(prefix)) {
                        library++;
                    } else if (t.getName().startsWith("process reaper")) {
                        reapers++;
                    }
                }
                maxLibrary = Math.max(maxLibrary, library);
                maxReapers = Math.max(maxReapers, reapers);
                try {
                    Thread.sleep(50);
                } catch (InterruptedException e) {
                    return;
                }
            }
        }

        int[] stop() throws InterruptedException {
            running = false;
            thread.join(1_000);
            return new int[] {maxLibrary, maxReapers};
        }
    }

    private static long drain(InputStream in) throws IOException {
        byte[] buffer = new byte[8192];
        long total = 0;
        int n;
        while ((n = in.read(buffer)) > 0) {
            total += n;
        }
        return total;
    }

    private static void report(String key, String label, int children, long millis, long bytes, int threads,
                               int before, int[] sampled) {
        long expected = (long) children * CHUNKS * CHUNK;
        if (bytes != expected) {
            throw new IllegalStateException(label + ": read " + bytes + " bytes, expected " + expected);
        }
        System.out.printf(Locale.ROOT, "  %-55s %d children: all done in %,d ms, %,d bytes read, peak +%d JVM threads"
                + " (%d before); at most %d library/pool threads and %d JDK 'process reaper' threads seen%n",
                label, children, millis, bytes, threads, before, sampled[0], sampled[1]);
        System.out.printf(Locale.ROOT, "RESULT process.stream.%s.libraryThreads %d%n", key, sampled[0]);
        System.out.printf(Locale.ROOT, "RESULT process.stream.%s.millis %d%n", key, millis);
        System.out.printf(Locale.ROOT, "RESULT process.stream.%s.threads %d%n", key, threads);
    }

}
