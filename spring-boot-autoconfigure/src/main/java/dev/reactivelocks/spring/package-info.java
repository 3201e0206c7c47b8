/**
 * Spring Boot support for reactive-locks: {@link dev.reactivelocks.spring.ReactiveLocksAutoConfiguration}
 * creates the application's {@link dev.reactivelocks.LockService} from the {@code reactive-locks.*}
 * {@link dev.reactivelocks.spring.ReactiveLocksProperties properties}, and {@link dev.reactivelocks.spring.WithLock}
 * runs a bean's method under a named lock.
 */
@NullMarked
package dev.reactivelocks.spring;

import org.jspecify.annotations.NullMarked;
