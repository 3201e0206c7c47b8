package dev.reactivelocks.process;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;

/**
 * 200 concurrent children, each writing 300 000 bytes over 3 s, streamed: the executor must keep up with
 * all of them on its few threads (a thread-per-stream design on {@code boundedElastic} serialises them and
 * needs about a minute). The bound asserted is generous; the wall time is logged, timed comparisons belong
 * to the benchmarks module.
 */
class ProcessScaleTest {

    static final int CHILDREN = 200;
    static final int CHUNKS = 30;
    static final int CHUNK = 10_000;

    @Test
    void twoHundredStreamedChildrenFinishWithExactByteCountsOnAFewThreads() {
        // 30 writes of 10 000 bytes, 0.1 s apart: 300 000 bytes over 3 s
        String script = "$| = 1; my $b = 'x' x " + CHUNK + "; for (1.." + CHUNKS + ") { print $b; "
                + "select(undef, undef, undef, 0.1) }";
        ProcessSpec spec = ProcessSpec.command("perl", "-e", script)
                .outputMode(OutputMode.CHUNKS)
                .timeout(Duration.ofSeconds(60))
                .build();
        ProcessExecutor exec = ProcessExecutor.create();
        Set<String> threads = ConcurrentHashMap.newKeySet();
        try {
            long start = System.nanoTime();
            Map<Integer, Long> bytes = Flux.range(0, CHILDREN)
                    .flatMap(i -> {
                        AtomicLong count = new AtomicLong();
                        return exec.stream(spec)
                                .doOnNext(o -> {
                                    count.addAndGet(o.size());
                                    threads.add(Thread.currentThread().getName());
                                })
                                .then(Mono.fromCallable(() -> Map.entry(i, count.get())));
                    }, CHILDREN)
                    .collectMap(Map.Entry::getKey, Map.Entry::getValue)
                    .block(Duration.ofSeconds(90));
            long millis = Duration.ofNanos(System.nanoTime() - start).toMillis();
            System.out.printf("ProcessScaleTest: %d children x %d bytes streamed in %d ms on threads %s%n",
                    CHILDREN, CHUNKS * CHUNK, millis, threads);

            assertThat(bytes).hasSize(CHILDREN);
            assertThat(bytes.values()).allMatch(n -> n == (long) CHUNKS * CHUNK);
            assertThat(threads.stream().filter(t -> t.startsWith("reactive-locks-process-poller-"))
                    .collect(Collectors.toSet())).hasSize(1);
            assertThat(threads).allMatch(t -> t.startsWith("reactive-locks-process-poller-"));
            assertThat(millis).as("generous bound for a shared 2-core machine; about 3-5 s expected when idle").isLessThan(120_000);
        } finally {
            exec.disposeLater().block(Duration.ofSeconds(30));
        }
    }
}
