package dev.reactivelocks.spring;

import dev.reactivelocks.LockMode;
import java.time.Instant;

/**
 * A lock this application holds, as the {@code locks} Actuator endpoint lists it.
 *
 * @param name the lock name
 * @param mode exclusive or shared
 * @param since when it was granted
 * @param fencingToken the grant's fencing token
 */
public record HeldLock(String name, LockMode mode, Instant since, long fencingToken) {
}
