package dev.reactivelocks;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.reactivelocks.testkit.contract.LockServiceContract;
import java.time.Duration;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import reactor.core.publisher.Mono;
import reactor.test.StepVerifier;
import reactor.test.scheduler.VirtualTimeScheduler;
import reactor.test.util.TestLogger;
import reactor.util.Loggers;

/** The watchdog view passes the whole contract and warns exactly once per slow grant. */
class WatchedLockServiceTest extends LockServiceContract {

    @Override
    protected LockService createService() {
        return LockService.inProcess().warnIfHeldLongerThan(Duration.ofMinutes(10));
    }

    @AfterEach
    void resetLoggers() {
        Loggers.resetLoggerFactory();
        VirtualTimeScheduler.reset();
    }

    @Test
    void warnsOnceWhenHeldPastTheThresholdAndNeverInterrupts() {
        TestLogger logger = new TestLogger(false);
        Loggers.useCustomLoggers(name -> logger);
        VirtualTimeScheduler time = VirtualTimeScheduler.getOrSet();
        LockService watched = LockService.inProcess().warnIfHeldLongerThan(Duration.ofSeconds(5));

        LockHandle slow = watched.acquire("import").block();
        time.advanceTimeBy(Duration.ofSeconds(4));
        assertThat(logger.getErrContent()).doesNotContain("still held");
        time.advanceTimeBy(Duration.ofSeconds(60));
        assertThat(logger.getErrContent())
                .containsOnlyOnce("[ WARN] Lock 'import' (EXCLUSIVE) still held after 5s, fencing token "
                        + slow.fencingToken() + "; not released yet");
        assertThat(slow.isHeld()).isTrue();
        slow.release().block();

        LockHandle quick = watched.acquire("import").block();
        quick.release().block();
        time.advanceTimeBy(Duration.ofSeconds(10));
        assertThat(logger.getErrContent()).containsOnlyOnce("still held");
    }

    @Test
    void reentryIsDetectedThroughStackedViews() {
        LockService root = LockService.inProcess();
        LockService stacked = root.warnIfHeldLongerThan(Duration.ofSeconds(1)).withPrefix("a").warnIfHeldLongerThan(
                Duration.ofSeconds(2));
        StepVerifier.create(stacked.withLock("x", root.acquire("a-x")))
                .expectErrorMessage("Lock 'a-x' is already held (EXCLUSIVE) by this pipeline; locks are not reentrant")
                .verify(Duration.ofSeconds(5));
        StepVerifier.create(root.withLock("a-x", stacked.withLock("x", Mono.just(1))))
                .expectError(IllegalLockStateException.class)
                .verify(Duration.ofSeconds(5));
    }

    @Test
    void thresholdMustBePositive() {
        assertThatThrownBy(() -> LockService.inProcess().warnIfHeldLongerThan(Duration.ZERO))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("threshold must be > 0, was PT0S");
    }
}
