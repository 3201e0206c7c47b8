/**
 * JMH comparisons of reactive-locks against the locks users would pick instead ({@code ReentrantLock},
 * {@code ReentrantReadWriteLock}, Vert.x local locks, kotlinx-coroutines {@code Mutex}, {@code FileChannel.lock},
 * PostgreSQL advisory locks, Spring Integration's {@code JdbcLockRegistry} and {@code RedisLockRegistry},
 * Redisson {@code RLock} and {@code RFairLock}, {@code ProcessBuilder} and NuProcess; the PostgreSQL and Redis
 * comparisons need the servers on 127.0.0.1), the memory
 * footprint probe, and {@link dev.reactivelocks.benchmarks.BenchmarkMain}, which runs them and prints
 * ours/baseline ratios. Built only with the {@code benchmarks} Maven profile; see {@code docs/performance.md}.
 */
@NullMarked
package dev.reactivelocks.benchmarks;

import org.jspecify.annotations.NullMarked;
