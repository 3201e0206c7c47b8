/**
 * The service provider interface of distributed locks: a {@link dev.reactivelocks.spi.LockBackend} stores
 * leases (name, mode, owner token, fencing token, expiry) in a shared store such as a database or a cache,
 * and {@link dev.reactivelocks.distributed.DistributedLockService} builds waiting, renewal, loss detection
 * and the {@link dev.reactivelocks.LockService} API on top of it. Backend authors implement this package
 * only; {@link dev.reactivelocks.distributed.InMemoryLockBackend} is the reference implementation.
 */
@NullMarked
package dev.reactivelocks.spi;

import org.jspecify.annotations.NullMarked;
