package dev.reactivelocks.benchmarks;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
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
 * {@link OwnerChanges}. Grants per contender are recorded by {@link ContendedRounds}.
 */
public abstract class Contention extends ContendedRounds {

    final int processes;
    final int names;
    final int budgetPerRound;
    private final AtomicInteger[] inside;
    private final AtomicInteger[] lastHolder;
    private final AtomicLong ownerChanges = new AtomicLong();
    private final List<AsyncLoop> loops = new ArrayList<>();

    Contention(int processes, int names, int budgetPerRound) {
        super(processes * names);
        this.processes = processes;
        this.names = names;
        this.budgetPerRound = budgetPerRound;
        this.inside = new AtomicInteger[names];
        this.lastHolder = new AtomicInteger[names];
        for (int n = 0; n < names; n++) {
            inside[n] = new AtomicInteger();
            lastHolder[n] = new AtomicInteger(-1);
        }
    }

    /** One lock → {@link #criticalSection(int)} → release of contender {@code c}, repeated by its loop. */
    abstract Mono<?> step(int c);

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
        if (loops.isEmpty()) {
            for (int c = 0; c < contenders(); c++) {
                loops.add(loop(c, step(c)));
            }
        }
        long before = ownerChanges.get();
        runRound(budgetPerRound, loops.size(), () -> loops.forEach(AsyncLoop::next), 120);
        return ownerChanges.get() - before;
    }

    private AsyncLoop loop(int c, Mono<?> step) {
        return new AsyncLoop() {
            @Override
            protected boolean startOne() {
                if (!takeTicket()) {
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
}
