/**
 * The service provider interface: what other code implements or extends.
 *
 * <p><b>Lock backends</b>: a {@link dev.reactivelocks.spi.LockBackend} stores leases (name, mode, owner
 * token, fencing token, expiry) in a shared store such as a database or a cache, and
 * {@link dev.reactivelocks.distributed.DistributedLockService} builds waiting, renewal, loss detection and the
 * {@link dev.reactivelocks.LockService} API on top of it. Backend authors implement this part only;
 * {@link dev.reactivelocks.distributed.InMemoryLockBackend} is the reference implementation.
 *
 * <p><b>Decorators</b>: {@link dev.reactivelocks.spi.ForwardingLockService} and
 * {@link dev.reactivelocks.spi.ForwardingLockHandle} are the base of services that add behaviour to another
 * one (meters, a watchdog, an audit trail) and keep its guarantees: re-entry detection through the
 * decorator, no lock left held by nobody ({@link dev.reactivelocks.spi.AcquisitionMono#map}), downgrade and
 * inspection. {@link dev.reactivelocks.spi.GrantDelivery} is the delivery protocol of every acquisition, for
 * a decorator that writes its own acquisition {@code Mono}.
 */
@NullMarked
package dev.reactivelocks.spi;

import org.jspecify.annotations.NullMarked;
