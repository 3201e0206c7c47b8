/**
 * Non-blocking locks for Project Reactor: a {@link dev.reactivelocks.LockService} hands out
 * {@link dev.reactivelocks.LockHandle}s as {@code Mono}s, queues waiters fairly without parking threads,
 * and releases on complete, error and cancel when used through {@code withLock}.
 * {@link dev.reactivelocks.LockService#inProcess()} is the in-JVM implementation; file and distributed
 * services implement the same interface.
 */
@NullMarked
package dev.reactivelocks;

import org.jspecify.annotations.NullMarked;
