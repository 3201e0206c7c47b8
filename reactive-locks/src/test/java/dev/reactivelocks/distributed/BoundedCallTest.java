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
    private final TimerQueue queue = new TimerQueue(timer);

    @Test
    void anAnswerWithinTheBoundGoesOnAndDisposesTheTimerTask() {
        Sinks.One<String> call = Sinks.one();
        StepVerifier.create(BoundedCall.within(call.asMono(), BOUND, queue))
                .then(() -> {
                    assertThat(queue.size()).as("tasks while waiting").isOne();
                    assertThat(timer.live()).as("runs scheduled on the timer while waiting").isOne();
                })
                .then(() -> call.tryEmitValue("granted"))
                .expectNext("granted")
                .verifyComplete();
        assertThat(queue.size()).as("tasks after the answer").isZero();
        time.advanceTimeBy(BOUND.multipliedBy(2)); // the run is due, finds nothing and schedules no other
        assertThat(timer.live()).as("runs scheduled on the timer").isZero();
        assertThat(timer.scheduled()).as("runs scheduled in all").isOne();
    }

    @Test
    void emptyAndErrorAnswersGoOn() {
        StepVerifier.create(BoundedCall.within(Mono.<String>empty(), BOUND, queue)).verifyComplete();
        StepVerifier.create(BoundedCall.within(Mono.<String>error(new IllegalStateException("down")), BOUND, queue))
                .verifyErrorMessage("down");
        assertThat(queue.size()).isZero();
    }

    @Test
    void noAnswerWithinTheBoundFailsWithTimeoutAndCancelsTheCall() {
        AtomicBoolean cancelled = new AtomicBoolean();
        StepVerifier.withVirtualTime(() -> BoundedCall.within(Mono.<String>never().doOnCancel(() -> cancelled.set(true)),
                        BOUND, queue), () -> time, Long.MAX_VALUE)
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
        StepVerifier.create(BoundedCall.within(Mono.<String>never().doOnCancel(() -> cancelled.set(true)), BOUND, queue))
                .expectSubscription()
                .thenCancel()
                .verify(WAIT);
        assertThat(cancelled).isTrue();
        assertThat(queue.size()).isZero();
    }

    @Test
    void aTimerThatRejectsFailsTheCall() {
        Scheduler disposed = VirtualTimeScheduler.create();
        disposed.dispose();
        StepVerifier.create(BoundedCall.within(Mono.<String>never(), BOUND, new TimerQueue(disposed)))
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
                BoundedCall.within(call.asMono(), BOUND, queue).subscribe(v -> signals.add("value"),
                        e -> signals.add(e instanceof TimeoutException ? "timeout" : e.toString()),
                        () -> signals.add("complete"));
                racer.race(() -> call.tryEmitValue("granted"), () -> time.advanceTimeBy(BOUND));
                assertThat(signals).as("signals of race " + i).isIn(List.of("value", "complete"), List.of("timeout"));
                if (signals.get(0).equals("value")) {
                    answered++;
                } else {
                    timedOut++;
                }
                assertThat(queue.size()).as("tasks left after race " + i).isZero();
                assertThat(timer.live()).as("runs left on the timer after race " + i).isZero();
            }
        }
        // which side wins depends on the machine's scheduling (on a loaded machine one side can win every race),
        // so only the outcome of each race is asserted
        assertThat(answered + timedOut).as("races (" + answered + " answered first)").isEqualTo(5_000);
    }
}
