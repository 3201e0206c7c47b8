/**
 * The reactive-locks lock services for Vert.x: {@link dev.reactivelocks.vertx.VertxLockService} wraps any
 * {@link dev.reactivelocks.LockService} (in-process, file or distributed) and hands out
 * {@link dev.reactivelocks.vertx.VertxLockHandle}s as Vert.x {@code Future}s that complete on the caller's
 * {@code Context}, never blocking an event loop; acquisitions of a verticle that is undeployed are dequeued
 * and its locks released.
 */
@NullMarked
package dev.reactivelocks.vertx;

import org.jspecify.annotations.NullMarked;
