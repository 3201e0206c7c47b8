/**
 * PostgreSQL as the store of {@link dev.reactivelocks.distributed.DistributedLockService}:
 * {@link dev.reactivelocks.postgres.PostgresLockBackend} keeps leases in a table through R2DBC, judges
 * expiry by the database clock, numbers grants with a sequence (fencing tokens) and wakes waiters with
 * {@code LISTEN/NOTIFY}.
 */
@NullMarked
package dev.reactivelocks.postgres;

import org.jspecify.annotations.NullMarked;
