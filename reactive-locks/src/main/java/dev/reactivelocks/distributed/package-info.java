/**
 * Distributed locks: {@link dev.reactivelocks.distributed.DistributedLockService} is a
 * {@link dev.reactivelocks.LockService} whose locks are leases in a shared store (a
 * {@link dev.reactivelocks.spi.LockBackend} such as PostgreSQL), owned by a random token per grant,
 * renewed automatically while held, reported through {@link dev.reactivelocks.LockHandle#lost()} when lost,
 * and numbered by fencing tokens. {@link dev.reactivelocks.distributed.InMemoryLockBackend} keeps leases in
 * memory, for tests.
 */
@NullMarked
package dev.reactivelocks.distributed;

import org.jspecify.annotations.NullMarked;
