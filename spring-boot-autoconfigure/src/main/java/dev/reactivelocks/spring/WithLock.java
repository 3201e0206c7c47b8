package dev.reactivelocks.spring;

import dev.reactivelocks.LockMode;
import java.lang.annotation.Documented;
import java.lang.annotation.ElementType;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;

/**
 * Runs the annotated method of a Spring bean under a named lock of the application's
 * {@link dev.reactivelocks.LockService} bean.
 *
 * <pre>{@code
 * @WithLock(name = "order-#{#order.id}", timeout = "2s")
 * Mono<Receipt> place(Order order) { ... }
 * }</pre>
 *
 * <ul>
 *   <li><b>{@code Mono}/{@code Flux} methods</b>: the method returns at once; the lock is taken when the result
 *       is subscribed, the method body runs after the grant (once per subscription), and the lock is released
 *       when the result completes, errors or is cancelled ({@code LockService.withLock}/{@code withLockMany}).
 *       No thread holds the lock. A nested annotated call for a lock the pipeline already holds fails with
 *       {@link dev.reactivelocks.IllegalLockStateException} instead of deadlocking.</li>
 *   <li><b>Other methods</b> are blocking: the calling thread waits for the lock through
 *       {@link dev.reactivelocks.blocking.BlockingLockService}, which refuses (with
 *       {@link IllegalStateException}) on event-loop threads such as Reactor's {@code parallel} and Netty's.
 *       An interrupt while waiting ends the call without running the body: with {@link InterruptedException}
 *       if the method declares it, else with the proxy's {@link java.lang.reflect.UndeclaredThrowableException}
 *       around it and the thread's interrupt status set. The lock is released when the method returns or
 *       throws; a release that fails (a lost lease) after the method threw is added to the method's exception
 *       as suppressed, as try-with-resources does.</li>
 * </ul>
 *
 * <p>Works on methods of classes and of interfaces the bean implements, through Spring proxies: a call from
 * inside the same object ({@code this.method()}) is not intercepted. Names, timeouts and return types are
 * checked when the bean is created, so a mistake fails the startup; so does the annotation on a final, private
 * or static method, which the class proxy cannot intercept (its calls would run without the lock).
 */
@Target(ElementType.METHOD)
@Retention(RetentionPolicy.RUNTIME)
@Documented
public @interface WithLock {

    /**
     * The lock name: literal text with SpEL expressions in {@code #{...}}, evaluated for each call over the
     * method's arguments ({@code #order}, or {@code #p0}/{@code #a0}), e.g. {@code "orders"},
     * {@code "order-#{#order.id}"}, {@code "#{'order-' + #order.id}"}. Referring to arguments by name needs
     * classes compiled with {@code -parameters} (Spring Boot's build plugins do that).
     *
     * @return the name template; must evaluate to a non-empty string (a call whose name evaluates to null or
     *         empty, or cannot be evaluated, throws {@link IllegalArgumentException} naming the method)
     */
    String name();

    /** @return the lock mode; defaults to {@link LockMode#EXCLUSIVE} */
    LockMode mode() default LockMode.EXCLUSIVE;

    /**
     * How long to wait for the lock, as a Spring Boot duration ({@code "2s"}, {@code "500ms"}, {@code "PT1M"})
     * or a {@code ${property}} placeholder. On expiry the call fails with
     * {@link dev.reactivelocks.LockTimeoutException} and the body never runs.
     *
     * @return the timeout; empty (the default) means {@code reactive-locks.default-timeout}, or no timeout when
     *         that is unset
     */
    String timeout() default "";

    /**
     * Run the body only if the lock is free now (never queue): otherwise a {@code Mono}/{@code Flux} method
     * completes empty and a blocking method returns {@code null} ({@code Optional.empty()} for an
     * {@code Optional}) without running. {@code timeout} is ignored.
     * Not allowed on methods returning a primitive.
     *
     * @return whether to skip the body when the lock is busy; defaults to {@code false}
     */
    boolean ifFree() default false;
}
