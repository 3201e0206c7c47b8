package dev.reactivelocks.spring;

import dev.reactivelocks.LockService;
import dev.reactivelocks.distributed.DistributedLockService;
import java.time.Duration;
import org.jspecify.annotations.Nullable;
import org.springframework.beans.factory.ObjectProvider;
import org.springframework.boot.health.contributor.Health;
import org.springframework.boot.health.contributor.ReactiveHealthIndicator;
import reactor.core.publisher.Mono;

/**
 * Actuator health of the auto-configured {@link LockService}. For {@code postgres} and {@code redis} it is UP when
 * both hold: the backend answers a side-effect-free round trip within 5 seconds (reachable), and no held lock's
 * latest lease renewal failed ({@link DistributedLockService#failingRenewalCount()}, read when the check starts).
 * Otherwise it is DOWN, with the probe's {@code error} or the {@code renewalError}. It is always UP for
 * {@code in-process} and {@code file}. Details: the type, how many locks the application holds and, for the
 * distributed types, {@code failingRenewals}.
 *
 * <p>DOWN rather than OUT_OF_SERVICE: both are failures the application did not choose (OUT_OF_SERVICE is
 * for a component taken out of service on purpose), and both put the locks at risk: a holder whose renewals
 * keep failing loses its lock when the lease runs out.
 */
final class LockServiceHealthIndicator implements ReactiveHealthIndicator {

    private static final Duration PROBE_TIMEOUT = Duration.ofSeconds(5);

    private final ObjectProvider<LockService> services;

    LockServiceHealthIndicator(ObjectProvider<LockService> services) {
        this.services = services;
    }

    @Override
    public Mono<Health> health() {
        if (!(services.getIfUnique() instanceof ManagedLockService managed)) {
            return Mono.just(Health.unknown().build());
        }
        return Mono.defer(() -> {
            DistributedLockService distributed = managed.distributed();
            int failing = distributed == null ? 0 : distributed.failingRenewalCount();
            Throwable renewalError = distributed == null ? null : distributed.lastRenewalFailure();
            return managed.probe()
                    .timeout(PROBE_TIMEOUT)
                    .then(Mono.fromSupplier(() -> failing == 0 ? Health.up() : Health.down()))
                    .onErrorResume(e -> Mono.just(Health.down(e)))
                    .map(health -> details(health, managed, distributed != null, failing, renewalError));
        });
    }

    private static Health details(Health.Builder health, ManagedLockService managed, boolean distributed, int failing,
                                  @Nullable Throwable renewalError) {
        health.withDetail("type", managed.type()).withDetail("held", managed.held().size());
        if (distributed) {
            health.withDetail("failingRenewals", failing);
        }
        if (failing > 0 && renewalError != null) {
            health.withDetail("renewalError", renewalError.getClass().getName() + ": " + renewalError.getMessage());
        }
        return health.build();
    }
}
