/**
 * Blocking access to the locks of any {@link dev.reactivelocks.LockService}, for code that may block a
 * thread (servlets, batch jobs, JDBC code, virtual threads): {@link dev.reactivelocks.blocking.BlockingLockService}
 * hands out {@link dev.reactivelocks.blocking.BlockingLockHandle}s for try-with-resources, runs
 * {@link dev.reactivelocks.blocking.LockedCallable}s under a lock, and offers
 * {@code java.util.concurrent.locks.Lock} and {@code ReadWriteLock} views; blocking and reactive holders of
 * one name exclude each other, and every blocking call refuses to run on a non-blocking thread.
 */
@NullMarked
package dev.reactivelocks.blocking;

import org.jspecify.annotations.NullMarked;
