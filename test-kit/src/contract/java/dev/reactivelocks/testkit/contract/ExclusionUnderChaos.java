package dev.reactivelocks.testkit.contract;

import static org.assertj.core.api.Assertions.assertThat;

import dev.reactivelocks.LockOptions;
import dev.reactivelocks.distributed.DistributedLockService;
import dev.reactivelocks.spi.LockBackend;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;
import java.util.function.Function;
import reactor.core.Disposable;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import reactor.core.scheduler.Schedulers;

/**
 * A long run for a backend's stress test (profile {@code -Ploops}): four services, each over a backend of
 * its own, hammer one name with shared and exclusive bodies while the connections of one service after
 * the other are cut; exclusion must hold throughout and most bodies must finish (a lease lost to a cut
 * connection ends a body early).
 */
public final class ExclusionUnderChaos {

    private static final Duration CLOSE_WAIT = Duration.ofSeconds(10);

    private ExclusionUnderChaos() {
    }

    /**
     * @param backends a new backend whose connections carry the given client name
     * @param cutConnections cuts the connections of the given client name (on a blocking-capable thread)
     * @param every how often a cut happens
     * @param bodies how many bodies to run
     * @param minCompleted how many of them must complete
     * @param bodyTime how long a body holds the lock
     */
    public static void run(Function<String, LockBackend> backends, Consumer<String> cutConnections,
                           Duration every, int bodies, int minCompleted, Duration bodyTime) {
        List<Runnable> cleanup = new ArrayList<>();
        List<DistributedLockService> services = new ArrayList<>();
        List<String> clients = new ArrayList<>();
        for (int i = 0; i < 4; i++) {
            String client = "rl-stress-" + i + "-" + Long.toHexString(ThreadLocalRandom.current().nextLong() & 0xffffL);
            LockBackend backend = backends.apply(client);
            DistributedLockService s = DistributedLockService.builder(backend).lease(Duration.ofSeconds(3))
                    .renewEvery(Duration.ofMillis(300)).pollInterval(Duration.ofMillis(200)).build();
            services.add(s);
            clients.add(client);
            cleanup.add(() -> {
                s.disposeLater().block(CLOSE_WAIT);
                backend.close().block(CLOSE_WAIT);
            });
        }
        AtomicInteger exclusive = new AtomicInteger();
        AtomicInteger shared = new AtomicInteger();
        AtomicInteger violations = new AtomicInteger();
        Disposable chaos = Flux.interval(every, Schedulers.boundedElastic())
                .doOnNext(i -> cutConnections.accept(clients.get((int) (i % clients.size()))))
                .subscribe(null, e -> { });
        try {
            long done = Flux.range(0, bodies).flatMap(i -> {
                DistributedLockService s = services.get(i % services.size());
                boolean write = i % 3 == 0;
                return s.withLock("stress", (write ? LockOptions.exclusive() : LockOptions.shared())
                                .timeout(Duration.ofSeconds(60)), h -> Mono.fromRunnable(() -> {
                            if (write) {
                                if (exclusive.incrementAndGet() != 1 || shared.get() != 0) {
                                    violations.incrementAndGet();
                                }
                            } else if (shared.incrementAndGet() < 1 || exclusive.get() != 0) {
                                violations.incrementAndGet();
                            }
                        }).then(Mono.delay(bodyTime)).then(Mono.fromRunnable(() -> {
                            if (write) {
                                exclusive.decrementAndGet();
                            } else {
                                shared.decrementAndGet();
                            }
                        })).thenReturn(1))
                        .onErrorResume(e -> Mono.empty());   // a lost lease ends a body early; counted below
            }, 24).count().block(Duration.ofMinutes(5));
            assertThat(violations.get()).isZero();
            assertThat(done).as("bodies completed").isGreaterThanOrEqualTo(minCompleted);
        } finally {
            chaos.dispose();
            for (int i = cleanup.size() - 1; i >= 0; i--) {
                cleanup.get(i).run();
            }
        }
    }
}
