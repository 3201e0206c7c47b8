package dev.reactivelocks.benchmarks;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.Lock;
import reactor.core.publisher.Mono;
import reactor.core.scheduler.Scheduler;
import reactor.core.scheduler.Schedulers;

/**
 * One platform thread per contender for the blocking peers ({@code java.util.concurrent.locks.Lock}
 * implementations such as Spring Integration's lock registries): each step runs {@code lock()} →
 * {@link Contention#hold(int)} → {@code unlock()} on the contender's own thread, so a {@link Contention} loop
 * drives blocking and reactive candidates alike (one task submission per step, on the contender's thread).
 */
final class ContenderThreads {

    private final List<ExecutorService> executors = new ArrayList<>();
    private final List<Scheduler> schedulers = new ArrayList<>();

    ContenderThreads(String name, int contenders) {
        for (int c = 0; c < contenders; c++) {
            String threadName = name + "-" + c;
            ExecutorService executor = Executors.newSingleThreadExecutor(r -> new Thread(r, threadName));
            executors.add(executor);
            schedulers.add(Schedulers.fromExecutorService(executor));
        }
    }

    /** Contender {@code c}'s step: lock, hold, unlock on its own thread. */
    Mono<Integer> step(Contention contention, int c, Lock lock) {
        return Mono.fromCallable(() -> {
            lock.lock();
            try {
                contention.hold(c);
            } finally {
                lock.unlock();
            }
            return 1;
        }).subscribeOn(schedulers.get(c));
    }

    void close() throws InterruptedException {
        schedulers.forEach(Scheduler::dispose);
        for (ExecutorService e : executors) {
            e.shutdown();
            if (!e.awaitTermination(30, TimeUnit.SECONDS)) {
                throw new IllegalStateException("a contender thread did not stop in 30s");
            }
        }
    }
}
