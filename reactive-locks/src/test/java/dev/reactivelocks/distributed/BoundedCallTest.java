package dev.reactivelocks.distributed;

import static org.assertj.core.api.Assertions.assertThat;

import dev.reactivelocks.testkit.contract.SpinRacer;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import reactor.core.Disposable;
import reactor.core.publisher.Mono;
import reactor.core.publisher.Sinks;
import reactor.core.scheduler.Scheduler;
import reactor.test.StepVerifier;
import reactor.test.scheduler.VirtualTimeScheduler;

class BoundedCallTest {

    private static final Duration BOUND = Duration.ofMillis(250);
    private static final Duration WAIT = Duration.ofSeconds(5);

    private final VirtualTimeScheduler time = VirtualTimeScheduler.create();
    private final CountingTimer timer = new CountingTimer(time);

    @Test
    void anAnswerWithinTheBoundGoesOnAndDisposesTheTimerTask() {
        Sinks.One<String> call = Sinks.one();
        StepVerifier.create(BoundedCall.within(call.asMono(), BOUND, timer))
                .then(() -> assertThat(timer.live()).as("timer tasks while waiting").isOne())
                .then(() -> call.tryEmitValue("granted"))
                .expectNext("granted")
                .verifyComplete();
        assertThat(timer.live()).as("timer tasks after the answer").isZero();
        time.advanceTimeBy(BOUND.multipliedBy(2)); // nothing left to fire
    }

    @Test
    void emptyAndErrorAnswersGoOn() {
        StepVerifier.create(BoundedCall.within(Mono.<String>empty(), BOUND, timer)).verifyComplete();
        StepVerifier.create(BoundedCall.within(Mono.<String>error(new IllegalStateException("down")), BOUND, timer))
                .verifyErrorMessage("down");
        assertThat(timer.live()).isZero();
    }

    @Test
    void noAnswerWithinTheBoundFailsWithTimeoutAndCancelsTheCall() {
        AtomicBoolean cancelled = new AtomicBoolean();
        StepVerifier.withVirtualTime(() -> BoundedCall.within(Mono.<String>never().doOnCancel(() -> cancelled.set(true)),
                        BOUND, timer), () -> time, Long.MAX_VALUE)
                .expectSubscription()
                .expectNoEvent(BOUND.minusMillis(1))
                .thenAwait(Duration.ofMillis(1))
                .expectErrorSatisfies(e -> assertThat(e).isInstanceOf(TimeoutException.class)
                        .hasMessage("no answer from the lock backend within 250ms"))
                .verify(WAIT);
        assertThat(cancelled).as("call cancelled").isTrue();
    }

    @Test
    void aCancelCancelsTheCallAndDisposesTheTimerTask() {
        AtomicBoolean cancelled = new AtomicBoolean();
        StepVerifier.create(BoundedCall.within(Mono.<String>never().doOnCancel(() -> cancelled.set(true)), BOUND, timer))
                .expectSubscription()
                .thenCancel()
                .verify(WAIT);
        assertThat(cancelled).isTrue();
        assertThat(timer.live()).isZero();
    }

    @Test
    void aTimerThatRejectsFailsTheCall() {
        Scheduler disposed = VirtualTimeScheduler.create();
        disposed.dispose();
        StepVerifier.create(BoundedCall.within(Mono.<String>never(), BOUND, disposed))
                .expectError(java.util.concurrent.RejectedExecutionException.class)
                .verify(WAIT);
    }

    /** The answer and the bound, released together: exactly one of them reaches the subscriber, every time. */
    @Test
    void anAnswerRacingTheBoundSignalsExactlyOnce() {
        int answered = 0;
        int timedOut = 0;
        try (SpinRacer racer = new SpinRacer()) {
            for (int i = 0; i < 5_000; i++) {
                Sinks.One<String> call = Sinks.one();
                List<String> signals = new CopyOnWriteArrayList<>();
                BoundedCall.within(call.asMono(), BOUND, timer).subscribe(v -> signals.add("value"),
                        e -> signals.add(e instanceof TimeoutException ? "timeout" : e.toString()),
                        () -> signals.add("complete"));
                racer.race(() -> call.tryEmitValue("granted"), () -> time.advanceTimeBy(BOUND));
                assertThat(signals).as("signals of race " + i).isIn(List.of("value", "complete"), List.of("timeout"));
                if (signals.get(0).equals("value")) {
                    answered++;
                } else {
                    timedOut++;
                }
                assertThat(timer.live()).as("timer tasks left after race " + i).isZero();
            }
        }
        // which side wins depends on the machine's scheduling (on a loaded machine one side can win every race),
        // so only the outcome of each race is asserted
        assertThat(answered + timedOut).as("races (" + answered + " answered first)").isEqualTo(5_000);
    }

    /** A timer whose tasks are counted while scheduled: neither run nor disposed. */
    private static final class CountingTimer implements Scheduler {
        private final Scheduler delegate;
        private final AtomicInteger live = new AtomicInteger();

        CountingTimer(Scheduler delegate) {
            this.delegate = delegate;
        }

        int live() {
            return live.get();
        }

        @Override
        public Disposable schedule(Runnable task) {
            return schedule(task, 0, TimeUnit.NANOSECONDS);
        }

        @Override
        public Disposable schedule(Runnable task, long delay, TimeUnit unit) {
            AtomicBoolean over = new AtomicBoolean();
            live.incrementAndGet();
            Disposable scheduled = delegate.schedule(() -> {
                if (over.compareAndSet(false, true)) {
                    live.decrementAndGet();
                }
                task.run();
            }, delay, unit);
            return () -> {
                if (over.compareAndSet(false, true)) {
                    live.decrementAndGet();
                }
                scheduled.dispose();
            };
        }

        @Override
        public long now(TimeUnit unit) {
            return delegate.now(unit);
        }

        @Override
        public Worker createWorker() {
            return delegate.createWorker();
        }
    }
}
