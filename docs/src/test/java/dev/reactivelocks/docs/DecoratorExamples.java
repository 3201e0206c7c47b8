package dev.reactivelocks.docs;

import static org.assertj.core.api.Assertions.assertThat;

import dev.reactivelocks.IllegalLockStateException;
import dev.reactivelocks.LockHandle;
import dev.reactivelocks.LockOptions;
import dev.reactivelocks.LockService;
import dev.reactivelocks.spi.AcquisitionMono;
import dev.reactivelocks.spi.ForwardingLockHandle;
import dev.reactivelocks.spi.ForwardingLockService;
import java.time.Duration;
import java.util.List;
import java.util.Queue;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import reactor.core.publisher.Mono;
import reactor.test.StepVerifier;

/** The "write your own decorator" sample of api-tiers.adoc, executed. */
class DecoratorExamples {

    private static final Duration WAIT = Duration.ofSeconds(10);

    // tag::decorator[]
    /** Writes a line for every grant and every release made through it. */
    static final class AuditedLockService extends ForwardingLockService {
        private final Queue<String> audit;

        AuditedLockService(LockService delegate, Queue<String> audit) {
            super(delegate);
            this.audit = audit;
        }

        @Override
        public Mono<LockHandle> acquire(String name, LockOptions options) {
            // AcquisitionMono.map, not Mono.map: a cancel between grant and emission releases the wrapper
            return AcquisitionMono.map(delegate().acquire(name, options), this::audited);
        }

        @Override
        public Mono<LockHandle> tryAcquire(String name, LockOptions options) {
            return AcquisitionMono.map(delegate().tryAcquire(name, options), this::audited);
        }

        private LockHandle audited(LockHandle granted) {
            audit.add("granted " + granted.name() + " " + granted.mode() + " #" + granted.fencingToken());
            return new AuditedHandle(granted, audit);
        }
    }

    /** The delegate's handle; its first release is written down. */
    static final class AuditedHandle extends ForwardingLockHandle {
        private final Queue<String> audit;
        private final AtomicBoolean released = new AtomicBoolean();

        AuditedHandle(LockHandle delegate, Queue<String> audit) {
            super(delegate);
            this.audit = audit;
        }

        @Override
        public Mono<Void> release() {
            return Mono.defer(() -> {                 // lazy and idempotent, as every release
                if (released.compareAndSet(false, true)) {
                    audit.add("released " + name());
                }
                return super.release();
            });
        }
    }
    // end::decorator[]

    private final Queue<String> audit = new ConcurrentLinkedQueue<>();
    private final LockService core = LockService.inProcess();

    @AfterEach
    void dispose() {
        core.dispose();
    }

    @Test
    void theDecoratorAuditsScopesAndKeepsReentryDetection() {
        // tag::use[]
        LockService locks = new AuditedLockService(core, audit);

        Mono<String> report = locks.withLock("report", Mono.just("done"));   // the scope uses the decorator

        Mono<LockHandle> reentry = locks.withLock("report",
                core.acquire("report"));                                    // the same lock, behind its back
        // end::use[]
        StepVerifier.create(report).expectNext("done").expectComplete().verify(WAIT);
        StepVerifier.create(reentry).expectError(IllegalLockStateException.class).verify(WAIT);
        assertThat(List.copyOf(audit)).containsExactly(
                "granted report EXCLUSIVE #1", "released report",
                "granted report EXCLUSIVE #2", "released report");
    }
}
