/**
 * Micrometer instrumentation for any {@link dev.reactivelocks.LockService}: wrap a service with
 * {@link dev.reactivelocks.micrometer.MeteredLockService} to time how long acquisitions wait and how long
 * locks are held, to gauge pending and held locks, and to count timeouts, cancellations, rejections and
 * errors. {@link dev.reactivelocks.micrometer.LockMeters} names every meter and tag.
 */
@NullMarked
package dev.reactivelocks.micrometer;

import org.jspecify.annotations.NullMarked;
