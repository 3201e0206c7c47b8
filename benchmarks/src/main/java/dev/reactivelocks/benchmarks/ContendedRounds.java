package dev.reactivelocks.benchmarks;

import java.util.Arrays;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.jspecify.annotations.Nullable;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.infra.BenchmarkParams;
import org.openjdk.jmh.infra.IterationParams;

/**
 * What the contended benchmarks share: contenders take tickets from one budget per round (one benchmark
 * invocation) and count their grants in {@link #grants}, which {@link Fairness} sums over the measurement
 * iterations; a contender that fails ends the round with its error.
 */
@State(Scope.Benchmark)
public abstract class ContendedRounds {

    final AtomicInteger budget = new AtomicInteger();
    final int[] grants;
    private final Fairness fairness;
    volatile CountDownLatch done = new CountDownLatch(0);
    private volatile @Nullable Throwable failure;
    String benchmark = "";

    ContendedRounds(int contenders) {
        this.grants = new int[contenders];
        this.fairness = new Fairness(contenders);
    }

    @Setup(Level.Trial)
    public void setUpTrial(BenchmarkParams params) throws Exception {
        benchmark = BenchmarkMain.shortName(params.getBenchmark());
        open();
    }

    @Setup(Level.Iteration)
    public void setUpIteration(IterationParams params) {
        fairness.startIteration(params);
        Arrays.fill(grants, 0);
    }

    @TearDown(Level.Iteration)
    public void tearDownIteration() {
        fairness.endIteration(grants);
    }

    @TearDown(Level.Trial)
    public void tearDownTrial() throws Exception {
        fairness.write(benchmark);
        close();
    }

    /** Opens the candidate's clients, once per trial. */
    abstract void open() throws Exception;

    abstract void close() throws Exception;

    final boolean takeTicket() {
        return budget.getAndDecrement() > 0;
    }

    /**
     * One round: {@code tickets} tickets, {@code start} starts the contenders, each of the {@code parties}
     * counts {@link #done} down once it found no ticket left.
     */
    final void runRound(int tickets, int parties, Runnable start, int timeoutSeconds) throws Exception {
        budget.set(tickets);
        done = new CountDownLatch(parties);
        start.run();
        if (!done.await(timeoutSeconds, TimeUnit.SECONDS)) {
            throw new IllegalStateException(benchmark + ": round did not finish in " + timeoutSeconds + "s, "
                    + budget.get() + " tickets left");
        }
        Throwable f = failure;
        if (f != null) {
            throw new IllegalStateException(benchmark + " failed", f);
        }
    }

    final void fail(Throwable e) {
        failure = e;
        while (done.getCount() > 0) {
            done.countDown();
        }
    }
}
