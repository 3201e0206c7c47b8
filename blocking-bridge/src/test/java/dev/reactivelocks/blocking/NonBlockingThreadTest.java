package dev.reactivelocks.blocking;

import static org.assertj.core.api.Assertions.assertThat;

import dev.reactivelocks.InProcessLockService;
import dev.reactivelocks.LockOptions;
import dev.reactivelocks.LockService;
import io.vertx.core.Vertx;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import reactor.core.publisher.Mono;
import reactor.core.scheduler.Schedulers;

/** Every blocking method refuses at once on threads that must never block, instead of stalling them. */
class NonBlockingThreadTest {

    private final InProcessLockService service = LockService.builder().build();
    private final BlockingLockService locks = BlockingLockService.of(service);

    @AfterEach
    void tearDown() {
        service.dispose();
    }

    /** Each blocking call, by the name its refusal message must carry. */
    private Map<String, Callable<?>> blockingCalls() {
        Map<String, Callable<?>> calls = new LinkedHashMap<>();
        calls.put("lock(\"orders\")", () -> locks.lock("orders"));
        calls.put("lock(\"orders\") ", () -> locks.lock("orders", LockOptions.shared().timeout(Duration.ofSeconds(1))));
        calls.put("tryLock(\"orders\")", () -> locks.tryLock("orders"));
        calls.put("tryLock(\"orders\") ", () -> locks.tryLock("orders", LockOptions.shared()));
        calls.put("withLock(\"orders\")", () -> locks.withLock("orders", () -> "body ran"));
        calls.put("Lock.lock(\"orders\")", () -> {
            locks.asLock("orders").lock();
            return null;
        });
        calls.put("Lock.lockInterruptibly(\"orders\")", () -> {
            locks.asLock("orders").lockInterruptibly();
            return null;
        });
        calls.put("Lock.tryLock(\"orders\")", () -> locks.asLock("orders").tryLock());
        calls.put("Lock.tryLock(\"orders\") ", () -> locks.asLock("orders").tryLock(1, TimeUnit.SECONDS));
        calls.put("ReadWriteLock.readLock().lock(\"orders\")", () -> {
            locks.asReadWriteLock("orders").readLock().lock();
            return null;
        });
        return calls;
    }

    private static Throwable failureOf(Callable<?> call) {
        try {
            call.call();
            return new AssertionError("did not refuse");
        } catch (Throwable e) {
            return e;
        }
    }

    @Test
    void everyBlockingMethodRefusesOnAReactorParallelThread() throws Exception {
        for (Map.Entry<String, Callable<?>> call : blockingCalls().entrySet()) {
            CompletableFuture<Throwable> refused = new CompletableFuture<>();
            Schedulers.parallel().schedule(() -> refused.complete(failureOf(call.getValue())));
            assertThat(refused.get(5, TimeUnit.SECONDS)).as(call.getKey())
                    .isInstanceOf(IllegalStateException.class)
                    .extracting(Throwable::getMessage).asString()
                    .startsWith(call.getKey().trim() + " would block the non-blocking Reactor thread 'parallel-")
                    .endsWith("', which must never block. There, use the reactive LockService "
                            + "(acquire/withLock/tryAcquire) instead, or run the blocking code on a thread that "
                            + "may block (Schedulers.boundedElastic(), a Vert.x worker or executeBlocking)");
        }
        assertThat(service.size()).as("nothing was queued or held").isZero();
    }

    @Test
    void theSameCallsWorkOnBoundedElastic() {
        String result = Mono.fromCallable(() -> locks.withLock("orders", () -> "body ran"))
                .subscribeOn(Schedulers.boundedElastic())
                .block(Duration.ofSeconds(5));
        assertThat(result).isEqualTo("body ran");
        assertThat(service.size()).isZero();
    }

    @Test
    void everyBlockingMethodRefusesOnAVertxEventLoopButWorksOnAWorker() throws Exception {
        Vertx vertx = Vertx.vertx();
        try {
            for (Map.Entry<String, Callable<?>> call : blockingCalls().entrySet()) {
                CompletableFuture<Throwable> refused = new CompletableFuture<>();
                vertx.runOnContext(v -> refused.complete(failureOf(call.getValue())));
                assertThat(refused.get(5, TimeUnit.SECONDS)).as(call.getKey())
                        .isInstanceOf(IllegalStateException.class)
                        .extracting(Throwable::getMessage).asString()
                        .startsWith(call.getKey().trim() + " would block the Vert.x event-loop thread 'vert.x-eventloop-thread-");
            }
            assertThat(service.size()).isZero();

            String onWorker = vertx.executeBlocking(() -> locks.withLock("orders", () -> "body ran"))
                    .toCompletionStage().toCompletableFuture().get(5, TimeUnit.SECONDS);
            assertThat(onWorker).isEqualTo("body ran");
        } finally {
            vertx.close().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
        }
    }
}
