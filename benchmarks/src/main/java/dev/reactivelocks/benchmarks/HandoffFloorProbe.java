package dev.reactivelocks.benchmarks;

import java.util.concurrent.atomic.AtomicBoolean;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OperationsPerInvocation;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Warmup;
import reactor.core.publisher.Mono;

/**
 * Probe, not a comparison: the {@link HandoffBenchmark} no-hop harness (same tickets, pipelines, body and
 * continuation on {@code Schedulers.parallel()}) around a spin flag instead of a lock service, so that the
 * score is what the harness itself costs per hand-off. A pipeline that finds the flag taken spins (the body
 * is synchronous, so the holder is on the other core and leaves within nanoseconds).
 */
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(java.util.concurrent.TimeUnit.SECONDS)
@Warmup(iterations = 5, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(value = 1, jvmArgsAppend = {"-Xms1g", "-Xmx1g"})
public class HandoffFloorProbe {

    public static class SpinFlagNoHop extends HandoffBenchmark.ReactivePipelines {
        final AtomicBoolean held = new AtomicBoolean();

        @Override
        boolean hopInside() {
            return false;
        }

        @Override
        void openLock() {
        }

        @Override
        Mono<Integer> step(Mono<Integer> body) {
            return new SpinStep(held, body);
        }

        @Override
        void close() {
        }
    }

    /** The least a Reactor step can do around the body: one subscriber, which clears the flag on termination. */
    static final class SpinStep extends Mono<Integer> {
        final AtomicBoolean held;
        final Mono<Integer> body;

        SpinStep(AtomicBoolean held, Mono<Integer> body) {
            this.held = held;
            this.body = body;
        }

        @Override
        public void subscribe(reactor.core.CoreSubscriber<? super Integer> actual) {
            while (!held.compareAndSet(false, true)) {
                Thread.onSpinWait();
            }
            body.subscribe(new reactor.core.CoreSubscriber<Integer>() {
                Integer value;

                @Override
                public void onSubscribe(org.reactivestreams.Subscription s) {
                    actual.onSubscribe(s);
                }

                @Override
                public void onNext(Integer v) {
                    value = v;
                }

                @Override
                public void onError(Throwable t) {
                    held.set(false);
                    actual.onError(t);
                }

                @Override
                public void onComplete() {
                    held.set(false);
                    if (value != null) {
                        actual.onNext(value);
                    }
                    actual.onComplete();
                }
            });
        }
    }

    @Benchmark
    @OperationsPerInvocation(HandoffBenchmark.Contended.BUDGET)
    public void spinFlag_noHop(SpinFlagNoHop s) throws Exception {
        s.round();
    }
}
