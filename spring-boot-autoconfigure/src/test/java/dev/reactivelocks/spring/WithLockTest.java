package dev.reactivelocks.spring;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.reactivelocks.IllegalLockStateException;
import dev.reactivelocks.LockHandle;
import dev.reactivelocks.LockLostException;
import dev.reactivelocks.LockMode;
import dev.reactivelocks.LockOptions;
import dev.reactivelocks.LockService;
import dev.reactivelocks.LockTimeoutException;
import dev.reactivelocks.spi.AcquisitionMono;
import dev.reactivelocks.spi.ForwardingLockHandle;
import dev.reactivelocks.spi.ForwardingLockService;
import java.lang.reflect.UndeclaredThrowableException;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.Callable;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.springframework.aop.framework.ProxyFactory;
import org.springframework.boot.autoconfigure.AutoConfigurations;
import org.springframework.boot.autoconfigure.context.PropertyPlaceholderAutoConfiguration;
import org.springframework.boot.test.context.runner.ApplicationContextRunner;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import reactor.core.Disposable;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import reactor.core.scheduler.Schedulers;
import reactor.test.StepVerifier;

/** {@link WithLock} on classes and interfaces, reactive and blocking, with SpEL names, timeouts and ifFree. */
class WithLockTest {

    private static final Duration WAIT = Duration.ofSeconds(10);

    private final ApplicationContextRunner runner = new ApplicationContextRunner()
            .withConfiguration(AutoConfigurations.of(ReactiveLocksAutoConfiguration.class))
            .withUserConfiguration(Beans.class)
            .withPropertyValues("test.timeout=50ms");

    record Order(String id) {
    }

    /** Annotated on the interface only. */
    interface Orders {
        @WithLock(name = "#{'order-' + #order.id}")
        Mono<List<String>> place(Order order);

        @WithLock(name = "order-#{#p0.id}", mode = LockMode.SHARED)
        Flux<List<String>> read(Order order);

        @WithLock(name = "#{#order.id}")
        Mono<List<String>> cancel(Order order);
    }

    static class DefaultOrders implements Orders {
        final LocksEndpoint endpoint;

        DefaultOrders(LocksEndpoint endpoint) {
            this.endpoint = endpoint;
        }

        @Override
        public Mono<List<String>> place(Order order) {
            return Mono.fromCallable(this::held);
        }

        @Override
        public Mono<List<String>> cancel(Order order) {
            return Mono.fromCallable(this::held);
        }

        @Override
        public Flux<List<String>> read(Order order) {
            return Flux.range(0, 3).map(i -> held());
        }

        private List<String> held() {
            return endpoint.locks().locks().stream().map(l -> l.name() + ":" + l.mode()).toList();
        }
    }

    /** Annotated on the class. Tests read its state through methods: fields of a proxy are not the target's. */
    static class Counter {
        final AtomicInteger calls = new AtomicInteger();
        final GappedCounter counter = new GappedCounter();

        int calls() {
            return calls.get();
        }

        int value() {
            return counter.value();
        }

        int maxInside() {
            return counter.maxInside();
        }

        @WithLock(name = "counter")
        Mono<Integer> increment() {
            calls.incrementAndGet();
            return counter.increment();
        }

        @WithLock(name = "never")
        Mono<String> never() {
            return Mono.never();
        }

        @WithLock(name = "failing")
        Mono<String> failing() {
            return Mono.error(new IllegalArgumentException("no such order"));
        }

        @WithLock(name = "failing")
        Flux<String> failingMany() {
            return Flux.just("first").concatWith(Flux.error(new IllegalArgumentException("second is broken")));
        }

        @WithLock(name = "busy", ifFree = true)
        Mono<String> ifFree() {
            calls.incrementAndGet();
            return Mono.just("ran");
        }

        @WithLock(name = "busy", ifFree = true)
        Flux<String> ifFreeMany() {
            calls.incrementAndGet();
            return Flux.just("ran", "twice");
        }

        @WithLock(name = "busy", ifFree = true)
        String ifFreeBlocking() {
            calls.incrementAndGet();
            return "ran";
        }

        @WithLock(name = "busy", ifFree = true)
        Optional<String> ifFreeOptional() {
            calls.incrementAndGet();
            return Optional.of("ran");
        }

        @WithLock(name = "busy")
        String blocking() {
            calls.incrementAndGet();
            return "ran";
        }

        @WithLock(name = "busy")
        String interruptible() throws InterruptedException {
            calls.incrementAndGet();
            return "ran";
        }

        @WithLock(name = "busy", timeout = "${test.timeout}")
        Mono<String> timed() {
            calls.incrementAndGet();
            return Mono.just("ran");
        }

        @WithLock(name = "busy")
        Mono<String> untimed() {
            calls.incrementAndGet();
            return Mono.just("ran");
        }
    }

    /** Two beans locking the same name: the nested call is a re-entry. */
    static class Outer {
        final Inner inner;

        Outer(Inner inner) {
            this.inner = inner;
        }

        @WithLock(name = "account-#{#id}")
        Mono<String> transfer(String id) {
            return inner.audit(id);
        }
    }

    static class Inner {
        @WithLock(name = "account-#{#id}")
        Mono<String> audit(String id) {
            return Mono.just("audited " + id);
        }
    }

    @Configuration(proxyBeanMethods = false)
    static class Beans {
        @Bean
        Orders orders(LocksEndpoint endpoint) {
            return new DefaultOrders(endpoint);
        }

        @Bean
        Counter counter() {
            return new Counter();
        }

        @Bean
        Inner inner() {
            return new Inner();
        }

        @Bean
        Outer outer(Inner inner) {
            return new Outer(inner);
        }
    }

    @Test
    void annotationOnAnInterfaceLocksTheEvaluatedNameWhileTheBodyRuns() {
        runner.run(context -> {
            Orders orders = context.getBean(Orders.class);
            StepVerifier.create(orders.place(new Order("42")))
                    .expectNext(List.of("order-42:EXCLUSIVE")).expectComplete().verify(WAIT);
            StepVerifier.create(orders.read(new Order("7")))
                    .expectNext(List.of("order-7:SHARED"), List.of("order-7:SHARED"), List.of("order-7:SHARED"))
                    .expectComplete().verify(WAIT);
            assertThat(context.getBean(LocksEndpoint.class).locks().locks()).isEmpty();
        });
    }

    @Test
    void theLockIsTakenOnSubscriptionAndTheBodyRunsOncePerSubscription() {
        runner.run(context -> {
            Counter counter = context.getBean(Counter.class);
            Mono<Integer> increment = counter.increment();
            assertThat(counter.calls()).isEqualTo(0);
            assertThat(context.getBean(LocksEndpoint.class).locks().locks()).isEmpty();
            increment.block(WAIT);
            increment.block(WAIT);
            assertThat(counter.calls()).isEqualTo(2);
            assertThat(counter.value()).isEqualTo(2);
        });
    }

    @Test
    void concurrentSubscriptionsAreExcluded() {
        runner.run(context -> {
            Counter counter = context.getBean(Counter.class);
            Flux.range(0, 100).flatMap(i -> counter.increment().subscribeOn(Schedulers.parallel()), 100)
                    .then().block(WAIT);
            assertThat(counter.value()).isEqualTo(100);
            assertThat(counter.maxInside()).isEqualTo(1);
        });
    }

    @Test
    void cancellingTheResultReleasesTheLock() {
        runner.run(context -> {
            Counter counter = context.getBean(Counter.class);
            LocksEndpoint endpoint = context.getBean(LocksEndpoint.class);
            Disposable subscription = counter.never().subscribe();
            assertThat(endpoint.locks().locks()).extracting(HeldLock::name).containsExactly("never");
            subscription.dispose();
            LockService locks = context.getBean(LockService.class);
            StepVerifier.create(locks.tryAcquire("never").flatMap(h -> h.release().thenReturn("free")))
                    .expectNext("free").expectComplete().verify(WAIT);
        });
    }

    @Test
    void anErrorOfTheResultReleasesTheLock() {
        runner.run(context -> {
            Counter counter = context.getBean(Counter.class);
            LockService locks = context.getBean(LockService.class);
            StepVerifier.create(counter.failing()).expectErrorMessage("no such order").verify(WAIT);
            StepVerifier.create(locks.tryAcquire("failing").flatMap(h -> h.release().thenReturn("free")))
                    .expectNext("free").expectComplete().verify(WAIT);
            StepVerifier.create(counter.failingMany()).expectNext("first").expectErrorMessage("second is broken")
                    .verify(WAIT);
            StepVerifier.create(locks.tryAcquire("failing").flatMap(h -> h.release().thenReturn("free")))
                    .expectNext("free").expectComplete().verify(WAIT);
        });
    }

    @Test
    void ifFreeSkipsTheBodyWhenTheLockIsBusy() {
        runner.run(context -> {
            Counter counter = context.getBean(Counter.class);
            LockHandle busy = context.getBean(LockService.class).acquire("busy").block(WAIT);
            StepVerifier.create(counter.ifFree()).expectComplete().verify(WAIT);
            StepVerifier.create(counter.ifFreeMany()).expectComplete().verify(WAIT);
            assertThat(counter.ifFreeBlocking()).isNull();
            assertThat(counter.calls()).isEqualTo(0);
            busy.release().block(WAIT);
            StepVerifier.create(counter.ifFree()).expectNext("ran").expectComplete().verify(WAIT);
            StepVerifier.create(counter.ifFreeMany()).expectNext("ran", "twice").expectComplete().verify(WAIT);
            assertThat(counter.ifFreeBlocking()).isEqualTo("ran");
            assertThat(counter.calls()).isEqualTo(3);
        });
    }

    @Test
    void aBlockingIfFreeMethodReturningAnOptionalReturnsEmptyWhenTheLockIsBusy() {
        runner.run(context -> {
            Counter counter = context.getBean(Counter.class);
            LockHandle busy = context.getBean(LockService.class).acquire("busy").block(WAIT);
            assertThat(counter.ifFreeOptional()).isEmpty();
            busy.release().block(WAIT);
            assertThat(counter.ifFreeOptional()).contains("ran");
            assertThat(counter.calls()).isEqualTo(1);
        });
    }

    @Test
    void aTimeoutFromAPlaceholderEndsTheWaitAndTheBodyNeverRuns() {
        runner.run(context -> {
            Counter counter = context.getBean(Counter.class);
            LockHandle busy = context.getBean(LockService.class).acquire("busy").block(WAIT);
            StepVerifier.create(counter.timed()).expectError(LockTimeoutException.class).verify(WAIT);
            assertThat(counter.calls()).isEqualTo(0);
            busy.release().block(WAIT);
        });
    }

    @Test
    void theDefaultTimeoutAppliesToMethodsWithoutOne() {
        runner.withPropertyValues("reactive-locks.default-timeout=50ms").run(context -> {
            Counter counter = context.getBean(Counter.class);
            LockHandle busy = context.getBean(LockService.class).acquire("busy").block(WAIT);
            StepVerifier.create(counter.untimed()).expectError(LockTimeoutException.class).verify(WAIT);
            busy.release().block(WAIT);
            StepVerifier.create(counter.untimed()).expectNext("ran").expectComplete().verify(WAIT);
        });
    }

    @Test
    void aBlockingMethodHoldsTheLockOnTheCallingThread() {
        runner.run(context -> {
            Counter counter = context.getBean(Counter.class);
            assertThat(counter.blocking()).isEqualTo("ran");
            LockHandle busy = context.getBean(LockService.class).acquire("busy").block(WAIT);
            Thread caller = new Thread(counter::blocking);
            caller.start();
            caller.join(200);
            assertThat(caller.isAlive()).as("waits for the lock").isTrue();
            assertThat(counter.calls()).isEqualTo(1);
            busy.release().block(WAIT);
            caller.join(WAIT.toMillis());
            assertThat(counter.calls()).isEqualTo(2);
        });
    }

    @Test
    void anInterruptWhileWaitingEndsTheCallWithoutLosingTheInterrupt() {
        runner.run(context -> {
            Counter counter = context.getBean(Counter.class);
            LockHandle busy = context.getBean(LockService.class).acquire("busy").block(WAIT);
            Interrupted undeclared = interruptWhileWaiting(counter::blocking);
            assertThat(undeclared.error()).isInstanceOf(UndeclaredThrowableException.class)
                    .cause().isInstanceOf(InterruptedException.class);
            assertThat(undeclared.interrupted()).as("interrupt status kept").isTrue();
            Interrupted declared = interruptWhileWaiting(counter::interruptible);
            assertThat(declared.error()).isInstanceOf(InterruptedException.class);
            assertThat(declared.interrupted()).as("cleared, as by every InterruptedException").isFalse();
            assertThat(counter.calls()).isZero();
            busy.release().block(WAIT);
        });
    }

    /** The outcome of a call on a thread interrupted while it waits. */
    record Interrupted(Throwable error, boolean interrupted) {
    }

    private static Interrupted interruptWhileWaiting(Callable<?> call) throws InterruptedException {
        AtomicReference<Interrupted> outcome = new AtomicReference<>();
        Thread caller = new Thread(() -> {
            Throwable error = null;
            try {
                call.call();
            } catch (Throwable e) {
                error = e;
            }
            outcome.set(new Interrupted(error, Thread.currentThread().isInterrupted()));
        });
        caller.start();
        while (caller.getState() != Thread.State.WAITING && caller.getState() != Thread.State.TIMED_WAITING) {
            Thread.onSpinWait();
        }
        caller.interrupt();
        caller.join(WAIT.toMillis());
        return outcome.get();
    }

    /** The application's own service, whose releases fail as those of a lease lost meanwhile. */
    @Configuration(proxyBeanMethods = false)
    static class FailingReleases {
        @Bean
        LockService failingReleases() {
            return new ForwardingLockService(LockService.inProcess()) {
                @Override
                public Mono<LockHandle> acquire(String name, LockOptions options) {
                    return AcquisitionMono.map(delegate().acquire(name, options), h -> new ForwardingLockHandle(h) {
                        @Override
                        public Mono<Void> release() {
                            return super.release().then(Mono.error(
                                    new LockLostException(name, "Lock '" + name + "' was lost", null)));
                        }
                    });
                }
            };
        }
    }

    static class Failing {
        @WithLock(name = "lost")
        String run() {
            throw new IllegalArgumentException("no such order");
        }
    }

    @Test
    void aFailedReleaseDoesNotHideTheExceptionOfABlockingMethod() {
        runner.withUserConfiguration(FailingReleases.class).withBean(Failing.class).run(context ->
                assertThatThrownBy(() -> context.getBean(Failing.class).run())
                        .isInstanceOf(IllegalArgumentException.class).hasMessage("no such order")
                        .satisfies(e -> assertThat(e.getSuppressed()).singleElement()
                                .isInstanceOf(LockLostException.class)));
    }

    @Test
    void aBlockingMethodIsRefusedOnANonBlockingThread() {
        runner.run(context -> {
            Counter counter = context.getBean(Counter.class);
            StepVerifier.create(Mono.fromCallable(counter::blocking).subscribeOn(Schedulers.parallel()))
                    .expectError(IllegalStateException.class).verify(WAIT);
            assertThat(counter.calls()).isEqualTo(0);
        });
    }

    @Test
    void aNestedCallForAHeldLockIsAReentryError() {
        runner.run(context -> StepVerifier.create(context.getBean(Outer.class).transfer("a"))
                .expectError(IllegalLockStateException.class).verify(WAIT));
    }

    static class BadTimeout {
        @WithLock(name = "x", timeout = "two seconds")
        Mono<String> run() {
            return Mono.empty();
        }
    }

    static class BadName {
        @WithLock(name = "#{#a +}")
        Mono<String> run(String a) {
            return Mono.empty();
        }
    }

    static class MissingTimeout {
        @WithLock(name = "x", timeout = "${no.such.timeout}")
        Mono<String> run() {
            return Mono.empty();
        }
    }

    static class PrimitiveIfFree {
        @WithLock(name = "x", ifFree = true)
        int run() {
            return 1;
        }
    }

    @Test
    void invalidAnnotationsFailTheStartupNamingTheMethod() {
        runner.withBean(BadTimeout.class).run(context -> assertThat(context.getStartupFailure())
                .rootCause().hasMessageContaining("@WithLock on " + BadTimeout.class.getName() + ".run: timeout "
                        + "\"two seconds\" is not a duration"));
        runner.withBean(BadName.class).run(context -> assertThat(context.getStartupFailure())
                .rootCause().hasMessageContaining("@WithLock on " + BadName.class.getName() + ".run: name"));
        runner.withBean(PrimitiveIfFree.class).run(context -> assertThat(context.getStartupFailure())
                .rootCause().hasMessageContaining("ifFree = true needs a return type that can be null, not int"));
        runner.withConfiguration(AutoConfigurations.of(PropertyPlaceholderAutoConfiguration.class))
                .withBean(MissingTimeout.class).run(context -> assertThat(context.getStartupFailure()).rootCause()
                        .hasMessageStartingWith("@WithLock on " + MissingTimeout.class.getName() + ".run: timeout "
                                + "\"${no.such.timeout}\" cannot be resolved: "));
    }

    static class FinalMethod {
        @WithLock(name = "x")
        final String run() {
            return "ran";
        }
    }

    static class PrivateMethod {
        @WithLock(name = "x")
        private String run() {
            return "ran";
        }

        String call() {
            return run();
        }
    }

    static class StaticMethod {
        @WithLock(name = "x")
        static String run() {
            return "ran";
        }
    }

    interface Api {
        @WithLock(name = "api")
        Mono<List<String>> run();
    }

    /** Implements an annotated interface method with a final one. */
    static class FinalApi implements Api {
        final LocksEndpoint endpoint;

        FinalApi(LocksEndpoint endpoint) {
            this.endpoint = endpoint;
        }

        @Override
        public final Mono<List<String>> run() {
            return Mono.fromCallable(() -> endpoint.locks().locks().stream().map(HeldLock::name).toList());
        }
    }

    @Test
    void methodsTheProxyCannotInterceptFailTheStartupInsteadOfRunningUnlocked() {
        runner.withBean(FinalMethod.class).run(context -> assertThat(context.getStartupFailure()).rootCause()
                .hasMessage("@WithLock on " + FinalMethod.class.getName() + ".run: the method is final, so the "
                        + "Spring proxy cannot intercept it and its calls would run without the lock; make it a "
                        + "non-final, non-private instance method"));
        runner.withBean(PrivateMethod.class).run(context -> assertThat(context.getStartupFailure()).rootCause()
                .hasMessageContaining(PrivateMethod.class.getName() + ".run: the method is private"));
        runner.withBean(StaticMethod.class).run(context -> assertThat(context.getStartupFailure()).rootCause()
                .hasMessageContaining(StaticMethod.class.getName() + ".run: the method is static"));
        runner.withBean("finalApi", FinalApi.class,
                () -> new FinalApi(null)).run(context -> assertThat(context.getStartupFailure()).rootCause()
                .hasMessageContaining(FinalApi.class.getName() + ".run: the method is final"));
    }

    @Test
    void aBeanThatIsAlreadyAProxyGetsTheAnnotationCheckedAndApplied() {
        runner.withBean(BadTimeout.class, () -> {
            ProxyFactory proxy = new ProxyFactory(new BadTimeout());
            proxy.setProxyTargetClass(true);
            return (BadTimeout) proxy.getProxy();
        }).run(context -> assertThat(context.getStartupFailure()).rootCause()
                .hasMessageContaining("@WithLock on " + BadTimeout.class.getName() + ".run: timeout"));
        // an interface proxy calls the final implementation through the interface: it is locked
        runner.withUserConfiguration(InterfaceProxy.class).run(context -> StepVerifier
                .create(context.getBean(Api.class).run()).expectNext(List.of("api")).expectComplete().verify(WAIT));
    }

    @Configuration(proxyBeanMethods = false)
    static class InterfaceProxy {
        @Bean
        Api api(LocksEndpoint endpoint) {
            ProxyFactory proxy = new ProxyFactory(new FinalApi(endpoint));
            proxy.addInterface(Api.class);
            return (Api) proxy.getProxy();
        }
    }

    @Test
    void aNameEvaluatingToNullIsAnArgumentError() {
        runner.run(context -> {
            Orders orders = context.getBean(Orders.class);
            org.assertj.core.api.Assertions.assertThatThrownBy(() -> orders.cancel(new Order(null)))
                    .isInstanceOf(IllegalArgumentException.class);
            org.assertj.core.api.Assertions.assertThatThrownBy(() -> orders.place(null))
                    .as("an expression over a null argument")
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessageStartingWith("@WithLock name \"#{'order-' + #order.id}\" of "
                            + DefaultOrders.class.getName() + ".place could not be evaluated: EL1007E");
        });
    }
}
