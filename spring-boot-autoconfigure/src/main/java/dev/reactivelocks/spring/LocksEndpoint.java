package dev.reactivelocks.spring;

import dev.reactivelocks.LockService;
import java.util.List;
import org.springframework.beans.factory.ObjectProvider;
import org.springframework.boot.actuate.endpoint.annotation.Endpoint;
import org.springframework.boot.actuate.endpoint.annotation.ReadOperation;

/**
 * The Actuator endpoint {@code locks}: the locks this application holds now through the auto-configured
 * {@link LockService} (name, mode, since, fencing token), oldest first. Empty for a service the application
 * defined itself. Expose it like any endpoint ({@code management.endpoints.web.exposure.include=locks}).
 */
@Endpoint(id = "locks")
public class LocksEndpoint {

    private final ObjectProvider<LockService> services;

    LocksEndpoint(ObjectProvider<LockService> services) {
        this.services = services;
    }

    /**
     * @return the held locks
     */
    @ReadOperation
    public Locks locks() {
        LockService service = services.getIfUnique();
        return new Locks(service instanceof ManagedLockService managed ? managed.held() : List.of());
    }

    /**
     * The endpoint's answer.
     *
     * @param locks the held locks, oldest grant first
     */
    public record Locks(List<HeldLock> locks) {
    }
}
