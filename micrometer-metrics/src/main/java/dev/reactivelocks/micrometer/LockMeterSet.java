package dev.reactivelocks.micrometer;

import dev.reactivelocks.LockMode;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tags;
import io.micrometer.core.instrument.Timer;
import java.util.Locale;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The meters of one tag set: the whole service, or one lock name when lock names are tagged. The two
 * gauges read this set's counts; timers and counters exist per {@link LockMode}.
 */
final class LockMeterSet {

    final AtomicInteger pending = new AtomicInteger();
    final AtomicInteger held = new AtomicInteger();
    final Gauge pendingGauge;
    final Gauge heldGauge;
    private final ModeMeters exclusive;
    private final ModeMeters shared;

    LockMeterSet(MeterRegistry registry, Tags tags) {
        this.pendingGauge = Gauge.builder(LockMeters.PENDING, pending, AtomicInteger::get)
                .description("Lock acquisitions requested and not yet granted or ended")
                .baseUnit(LockMeters.UNIT_ACQUISITIONS)
                .tags(tags)
                .strongReference(true)
                .register(registry);
        this.heldGauge = Gauge.builder(LockMeters.HELD, held, AtomicInteger::get)
                .description("Lock grants not yet released")
                .baseUnit(LockMeters.UNIT_LOCKS)
                .tags(tags)
                .strongReference(true)
                .register(registry);
        this.exclusive = new ModeMeters(registry, tags, LockMode.EXCLUSIVE);
        this.shared = new ModeMeters(registry, tags, LockMode.SHARED);
    }

    ModeMeters mode(LockMode mode) {
        return mode == LockMode.EXCLUSIVE ? exclusive : shared;
    }

    /** Timers and counters of one mode. */
    static final class ModeMeters {

        private final MeterRegistry registry;
        private final Tags tags;
        final Timer wait;
        final Timer hold;
        final Counter timeouts;
        final Counter cancels;
        final Counter rejections;
        final Counter busy;

        ModeMeters(MeterRegistry registry, Tags base, LockMode mode) {
            this.registry = registry;
            this.tags = base.and(LockMeters.TAG_MODE, mode.name().toLowerCase(Locale.ROOT));
            this.wait = Timer.builder(LockMeters.WAIT)
                    .description("Time from the acquisition request to the grant")
                    .tags(tags)
                    .register(registry);
            this.hold = Timer.builder(LockMeters.HOLD)
                    .description("Time from the grant to the release")
                    .tags(tags)
                    .register(registry);
            this.timeouts = counter(LockMeters.TIMEOUTS, "Lock acquisitions that timed out while pending");
            this.cancels = counter(LockMeters.CANCELS, "Lock acquisitions cancelled before the grant");
            this.rejections = counter(LockMeters.REJECTIONS,
                    "Lock acquisitions rejected because the pending limit was reached");
            this.busy = counter(LockMeters.BUSY, "tryAcquire calls that found the lock busy");
        }

        private Counter counter(String name, String description) {
            return Counter.builder(name)
                    .description(description)
                    .baseUnit(LockMeters.UNIT_ACQUISITIONS)
                    .tags(tags)
                    .register(registry);
        }

        /** @return the error counter for {@code error}'s class, registered on first use */
        Counter errors(Throwable error) {
            return Counter.builder(LockMeters.ERRORS)
                    .description("Lock acquisitions that failed with an error other than timeout or rejection")
                    .baseUnit(LockMeters.UNIT_ACQUISITIONS)
                    .tags(tags)
                    .tag(LockMeters.TAG_EXCEPTION, exceptionTag(error))
                    .register(registry);
        }
    }

    private static String exceptionTag(Throwable error) {
        String simple = error.getClass().getSimpleName();
        return simple.isEmpty() ? error.getClass().getName() : simple;
    }
}
