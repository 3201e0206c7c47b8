package dev.reactivelocks.testkit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;

import dev.reactivelocks.testkit.contract.SpinRacer;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

class SpinRacerTest {

    private static final Duration BOUND = Duration.ofSeconds(30);

    @Test
    void eachCallRunsOnItsOwnThread() {
        AtomicReference<Thread> mine = new AtomicReference<>();
        AtomicReference<Thread> theirs = new AtomicReference<>();
        try (SpinRacer racer = new SpinRacer()) {
            racer.race(() -> mine.set(Thread.currentThread()), () -> theirs.set(Thread.currentThread()));
        }
        assertThat(mine.get()).isSameAs(Thread.currentThread());
        assertThat(theirs.get()).isNotNull().isNotSameAs(Thread.currentThread());
    }

    @Test
    void aFailureOfTheHelpersCallIsThrownByTheRace() {
        IllegalArgumentException thrown = new IllegalArgumentException("theirs");
        try (SpinRacer racer = new SpinRacer()) {
            assertThatThrownBy(() -> racer.race(() -> { }, () -> {
                throw thrown;
            })).isInstanceOf(IllegalStateException.class).hasCause(thrown);
            racer.race(() -> { }, () -> { }); // the failure is reported once
        }
    }

    /** A race asked of a closed racer waited for ever for its helper thread, which had ended. */
    @Test
    void aRaceOfAClosedRacerFailsInsteadOfWaitingForever() {
        SpinRacer racer = new SpinRacer();
        racer.race(() -> { }, () -> { });
        racer.close();
        assertTimeoutPreemptively(BOUND, () -> assertThatThrownBy(() -> racer.race(() -> { }, () -> { }))
                .isInstanceOf(IllegalStateException.class).hasMessageContaining("closed"));
    }
}
