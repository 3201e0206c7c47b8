package dev.reactivelocks.benchmarks;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.jspecify.annotations.Nullable;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.infra.BenchmarkParams;
import org.openjdk.jmh.infra.IterationParams;
import reactor.core.publisher.Mono;

/**
 * The hand-off benchmarks against PostgreSQL and Redis: {@code processes} clients (each as a separate
 * process would be: its own lock service, registry or connection), each with one contender per name on
 * {@code names} names, so {@code processes} contenders compete for every name. Contender {@code c} belongs to
 * process {@code c / names} and locks name {@code c % names}. Every contender loops lock → critical section
 * → release; one round (one benchmark invocation) hands out {@code budget} grants in all, contenders taking
 * tickets from one shared budget.
 *
 * <p>Inside its critical section a contender calls {@link #hold(int)}, which checks that it is alone on its
 * name (a lock that let two in fails the benchmark) and counts an <em>owner change</em> when the previous
 * grant of that name went to another contender: a re-grant to the contender that just released is a grant,
 * not a hand-off. {@link #round()} returns the owner changes of the round, which the benchmark adds to
 * {@link OwnerChanges}. Grants per contender over the measurement iterations go to {@link Fairness}.
 */
@State(Scope.Benchmark)
public abstract class Contention {

    final int processes;
    final int names;
    final int budgetPerRound;
    final AtomicInteger budget = new AtomicInteger();
    final int[] grants;
    private final AtomicInteger[] inside;
    private final AtomicInteger[] lastHolder;
    private final AtomicLong ownerChanges = new AtomicLong();
    private final Fairness fairness;
    private final List<AsyncLoop> loops = new ArrayList<>();
    private volatile CountDownLatch done = new CountDownLatch(0);
    private volatile @Nullable Throwable failure;
    String benchmark = "";

    Contention(int processes, int names, int budgetPerRound) {
        this.processes = processes;
        this.names = names;
        this.budgetPerRound = budgetPerRound;
        this.grants = new int[processes * names];
        this.inside = new AtomicInteger[names];
        this.lastHolder = new AtomicInteger[names];
        for (int n = 0; n < names; n++) {
            inside[n] = new AtomicInteger();
            lastHolder[n] = new AtomicInteger(-1);
        }
        this.fairness = new Fairness(grants.length);
    }

    @Setup(Level.Trial)
    public void setUpTrial(BenchmarkParams params) throws Exception {
        benchmark = BenchmarkMain.shortName(params.getBenchmark());
        open();
        for (int c = 0; c < contenders(); c++) {
            loops.add(loop(c, step(c)));
        }
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

    /** Opens the clients; called once per trial before {@link #step(int)}. */
    abstract void open() throws Exception;

    /** One lock → {@link #criticalSection(int)} → release of contender {@code c}, repeated by its loop. */
    abstract Mono<?> step(int c);

    abstract void close() throws Exception;

    final int contenders() {
        return grants.length;
    }

    /** The lock name of contender {@code c}: {@code prefix} alone with one name, else {@code prefix-<index>}. */
    final String name(String prefix, int c) {
        return names == 1 ? prefix : prefix + "-" + (c % names);
    }

    /**
     * Called by contender {@code c} while it holds its name: fails if another contender is inside, and counts
     * an owner change when the name's previous grant went to another contender.
     */
    final void hold(int c) {
        int name = c % names;
        if (inside[name].incrementAndGet() != 1) {
            throw new IllegalStateException(benchmark + ": two contenders inside the critical section of name "
                    + name);
        }
        int previous = lastHolder[name].getAndSet(c);
        if (previous >= 0 && previous != c) {
            ownerChanges.incrementAndGet();
        }
        inside[name].decrementAndGet();
    }

    /** {@link #hold(int)} as the body of an asynchronous lock. */
    final Mono<Integer> criticalSection(int c) {
        return Mono.fromCallable(() -> {
            hold(c);
            return 1;
        });
    }

    /** Runs one round of {@code budget} grants; returns the owner changes it made. */
    final long round() throws Exception {
        long before = ownerChanges.get();
        budget.set(budgetPerRound);
        done = new CountDownLatch(loops.size());
        loops.forEach(AsyncLoop::next);
        if (!done.await(120, TimeUnit.SECONDS)) {
            throw new IllegalStateException(benchmark + ": round did not finish in 120s");
        }
        Throwable f = failure;
        if (f != null) {
            throw new IllegalStateException(benchmark + " failed", f);
        }
        return ownerChanges.get() - before;
    }

    private AsyncLoop loop(int c, Mono<?> step) {
        return new AsyncLoop() {
            @Override
            protected boolean startOne() {
                if (budget.getAndDecrement() <= 0) {
                    return false;
                }
                step.subscribe(v -> { }, Contention.this::fail, () -> {
                    grants[c]++;
                    next();
                });
                return true;
            }

            @Override
            protected void finished() {
                done.countDown();
            }
        };
    }

    private void fail(Throwable e) {
        failure = e;
        while (done.getCount() > 0) {
            done.countDown();
        }
    }
}
