package dev.reactivelocks.spring;

import dev.reactivelocks.LockOptions;
import dev.reactivelocks.LockService;
import dev.reactivelocks.blocking.BlockingLockHandle;
import dev.reactivelocks.blocking.BlockingLockService;
import dev.reactivelocks.internal.ScopedLocks;
import java.lang.reflect.Method;
import java.time.Duration;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Supplier;
import org.aopalliance.intercept.MethodInterceptor;
import org.aopalliance.intercept.MethodInvocation;
import org.jspecify.annotations.Nullable;
import org.springframework.aop.ProxyMethodInvocation;
import org.springframework.aop.support.AopUtils;
import org.springframework.core.MethodClassKey;
import org.springframework.core.annotation.AnnotatedElementUtils;
import org.springframework.util.ReflectionUtils;
import org.springframework.util.StringValueResolver;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;

/**
 * Runs {@link WithLock} methods under their lock: reactive results through {@code withLock}/{@code withLockMany}
 * (or a {@code tryAcquire} scope for {@code ifFree}), blocking ones through {@link BlockingLockService}.
 */
final class WithLockInterceptor implements MethodInterceptor {

    private final Supplier<LockService> service;
    private final Supplier<@Nullable Duration> defaultTimeout;
    private final StringValueResolver placeholders;
    private final Map<MethodClassKey, LockedMethod> methods = new ConcurrentHashMap<>();

    WithLockInterceptor(Supplier<LockService> service, Supplier<@Nullable Duration> defaultTimeout,
                        StringValueResolver placeholders) {
        this.service = service;
        this.defaultTimeout = defaultTimeout;
        this.placeholders = placeholders;
    }

    /**
     * @return the checked annotation of {@code method} as called on {@code targetClass}, or null when not annotated
     * @throws IllegalStateException when the annotation is invalid
     * @throws LockConfigurationPropertyException when {@code reactive-locks.default-timeout} is negative
     */
    @Nullable LockedMethod locked(Method method, @Nullable Class<?> targetClass) {
        MethodClassKey key = new MethodClassKey(method, targetClass);
        LockedMethod known = methods.get(key);
        if (known != null) {
            return known;
        }
        Method specific = AopUtils.getMostSpecificMethod(method, targetClass);
        WithLock annotation = AnnotatedElementUtils.findMergedAnnotation(specific, WithLock.class);
        if (annotation == null) {
            annotation = AnnotatedElementUtils.findMergedAnnotation(method, WithLock.class);
        }
        if (annotation == null) {
            return null;
        }
        LockedMethod locked = LockedMethod.of(specific, annotation, placeholders);
        defaultTimeout.get(); // checked when the bean is created, also when the LockService is the application's
        methods.putIfAbsent(key, locked);
        return locked;
    }

    @Override
    public @Nullable Object invoke(MethodInvocation invocation) throws Throwable {
        Object target = invocation.getThis();
        LockedMethod locked = locked(invocation.getMethod(), target == null ? null : AopUtils.getTargetClass(target));
        if (locked == null) {
            return invocation.proceed();
        }
        LockService locks = service.get();
        String name = locked.name(target, invocation.getArguments());
        LockOptions options = locked.options(defaultTimeout.get());
        return switch (locked.kind()) {
            case MONO -> mono(locks, name, options, locked.ifFree(), invocation);
            case FLUX -> flux(locks, name, options, locked.ifFree(), invocation);
            case BLOCKING -> blocking(locks, name, options, locked, invocation);
        };
    }

    private static Mono<?> mono(LockService locks, String name, LockOptions options, boolean ifFree,
                                MethodInvocation invocation) {
        if (ifFree) {
            return ScopedLocks.mono(locks, locks.tryAcquire(name, options.noTimeout()), h -> monoBody(invocation));
        }
        return locks.withLock(name, options, h -> monoBody(invocation));
    }

    private static Flux<?> flux(LockService locks, String name, LockOptions options, boolean ifFree,
                                MethodInvocation invocation) {
        if (ifFree) {
            return ScopedLocks.flux(locks, locks.tryAcquire(name, options.noTimeout()), h -> body(invocation));
        }
        return locks.withLockMany(name, options, h -> body(invocation));
    }

    /** One run of the method per subscription: a fresh clone of the invocation each time. */
    private static Mono<?> monoBody(MethodInvocation invocation) {
        return Mono.defer(() -> {
            Object result = proceed(invocation);
            return result instanceof Throwable e ? Mono.error(e) : result == null ? Mono.empty() : (Mono<?>) result;
        });
    }

    private static Flux<?> body(MethodInvocation invocation) {
        return Flux.defer(() -> {
            Object result = proceed(invocation);
            return result instanceof Throwable e ? Flux.error(e) : result == null ? Flux.empty() : (Flux<?>) result;
        });
    }

    /** @return the method's result, or what it threw (a reactive method never returns a Throwable) */
    private static @Nullable Object proceed(MethodInvocation invocation) {
        try {
            return ((ProxyMethodInvocation) invocation).invocableClone().proceed();
        } catch (Throwable e) {
            return e;
        }
    }

    private static @Nullable Object blocking(LockService locks, String name, LockOptions options, LockedMethod locked,
                                             MethodInvocation invocation) throws Throwable {
        BlockingLockService blocking = BlockingLockService.of(locks);
        BlockingLockHandle handle;
        if (locked.ifFree()) {
            Optional<BlockingLockHandle> free = blocking.tryLock(name, options.noTimeout());
            if (free.isEmpty()) {
                return locked.skipped();
            }
            handle = free.get();
        } else {
            try {
                handle = blocking.lock(name, options);
            } catch (InterruptedException e) {
                if (!ReflectionUtils.declaresException(invocation.getMethod(), InterruptedException.class)) {
                    // the proxy wraps it in UndeclaredThrowableException: keep the interrupt visible
                    Thread.currentThread().interrupt();
                }
                throw e;
            }
        }
        // as try-with-resources: a release that fails after the method threw is added to the method's exception
        try (BlockingLockHandle held = handle) {
            return invocation.proceed();
        }
    }
}
