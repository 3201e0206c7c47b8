/**
 * Redis as the store of {@link dev.reactivelocks.distributed.DistributedLockService}:
 * {@link dev.reactivelocks.redis.RedisLockBackend} keeps leases in Redis hashes through Lettuce's reactive
 * API, decides every grant, renewal and release in one Lua script judged by the Redis server clock, numbers
 * grants with fencing tokens that increase per name (a time floor), queues waiters per name in arrival order across processes and
 * wakes only the next one with pub/sub (sharded pub/sub on a Redis 7 cluster). It runs on a standalone server,
 * Sentinel or Redis Cluster: every key of a name is in the name's hash slot. It is the WEAK store: see the
 * class documentation for what a Redis restart or failover loses.
 */
@NullMarked
package dev.reactivelocks.redis;

import org.jspecify.annotations.NullMarked;
