package dev.reactivelocks.micrometer;

import static org.assertj.core.api.Assertions.assertThat;

import dev.reactivelocks.LockHandle;
import dev.reactivelocks.LockService;
import dev.reactivelocks.testkit.contract.RecordingSubscriber;
import io.micrometer.core.instrument.Clock;
import io.micrometer.core.instrument.simple.SimpleConfig;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * A cancel that lands between the metered acquisition's grant and its emission, made to land there every
 * time: the registry's clock, read by the grant right after the CAS that decided it, cancels the subscriber.
 * The subscriber never receives the lock, so the meters must count a cancel and no grant (no wait, no hold),
 * and the delegate's lock must be free.
 */
class MeteredCancelBeforeEmissionTest {

    private static final Duration WAIT = Duration.ofSeconds(10);

    /** Run by the next clock read made inside the metered acquisition's grant. */
    private final AtomicReference<Runnable> onGrantClockRead = new AtomicReference<>();
    private final SimpleMeterRegistry registry = new SimpleMeterRegistry(SimpleConfig.DEFAULT, new Clock() {
        @Override
        public long wallTime() {
            return 0;
        }

        @Override
        public long monotonicTime() {
            if (insideTheGrant()) {
                Runnable r = onGrantClockRead.getAndSet(null);
                if (r != null) {
                    r.run();
                }
            }
            return 0;
        }
    });
    private final LockService locks = MeteredLockService.of(LockService.inProcess(), registry, "window");

    @AfterEach
    void dispose() {
        locks.dispose();
    }

    @Test
    void aCancelBetweenTheGrantAndTheEmissionCountsAsACancelAndNotAsAGrant() {
        LockHandle holder = locks.acquire("w").block(WAIT);
        RecordingSubscriber waiter = locks.acquire("w").subscribeWith(new RecordingSubscriber());
        onGrantClockRead.set(waiter::dispose);

        holder.release().block(WAIT); // grants the waiter on this thread; its grant's clock read cancels it

        assertThat(onGrantClockRead.get()).as("the cancel ran inside the grant").isNull();
        assertThat(waiter.outcome()).as("nothing reached the subscriber").isNull();
        assertThat(registry.get(LockMeters.CANCELS).tag("mode", "exclusive").counter().count()).isEqualTo(1);
        assertThat(registry.get(LockMeters.WAIT).tag("mode", "exclusive").timer().count()).as("only the holder's wait").isEqualTo(1);
        assertThat(registry.get(LockMeters.HOLD).tag("mode", "exclusive").timer().count()).as("only the holder's hold").isEqualTo(1);
        assertThat(registry.get(LockMeters.HELD).gauge().value()).isZero();
        assertThat(registry.get(LockMeters.PENDING).gauge().value()).isZero();
        LockHandle probe = locks.tryAcquire("w").block(WAIT);
        assertThat(probe).as("the revoked grant was released").isNotNull();
        probe.release().block(WAIT);
    }

    private static boolean insideTheGrant() {
        return StackWalker.getInstance().walk(frames -> frames.anyMatch(f ->
                f.getClassName().equals(MeteredAcquireMono.Acquirer.class.getName())
                        && f.getMethodName().equals("onNext")));
    }
}
