package dev.reactivelocks.spring;

import dev.reactivelocks.LockService;
import java.time.Duration;
import org.springframework.beans.factory.ObjectProvider;
import org.springframework.boot.health.contributor.Health;
import org.springframework.boot.health.contributor.ReactiveHealthIndicator;
import reactor.core.publisher.Mono;

/**
 * Actuator health of the auto-configured {@link LockService}: for {@code postgres} and {@code redis}, UP when
 * the backend answers a side-effect-free round trip within 5 seconds, DOWN with the error otherwise; always UP
 * for {@code in-process} and {@code file}. Details: the type and how many locks the application holds.
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
        return managed.probe()
                .timeout(PROBE_TIMEOUT)
                .then(Mono.fromCallable(() -> Health.up()))
                .onErrorResume(e -> Mono.just(Health.down(e)))
                .map(health -> health.withDetail("type", managed.type())
                        .withDetail("held", managed.held().size()).build());
    }
}
