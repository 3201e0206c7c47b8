package dev.reactivelocks.spring;

import static org.assertj.core.api.Assertions.assertThat;

import dev.reactivelocks.IllegalLockStateException;
import dev.reactivelocks.LockHandle;
import dev.reactivelocks.LockMode;
import dev.reactivelocks.LockService;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.junit.jupiter.api.Test;
import org.springframework.boot.autoconfigure.AutoConfigurations;
import org.springframework.boot.test.context.runner.ApplicationContextRunner;
import org.springframework.stereotype.Service;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import reactor.test.StepVerifier;

/** The samples of docs/src/main/asciidoc/spring-boot.adoc, run. */
class SpringBootGuideExamplesTest {

    private static final Duration WAIT = Duration.ofSeconds(10);

    private final ApplicationContextRunner runner = new ApplicationContextRunner()
            .withConfiguration(AutoConfigurations.of(ReactiveLocksAutoConfiguration.class))
            .withPropertyValues("spring.config.import=classpath:guide/in-process.properties")
            .withBean(Inventory.class)
            .withBean(Reports.class);

    record Order(String id, String item) {
    }

    // tag::with-lock[]
    @Service
    static class Inventory {
        private final Map<String, Integer> stock = new ConcurrentHashMap<>(Map.of("book", 1));

        @WithLock(name = "item-#{#order.item}", timeout = "2s")       // taken on subscription
        Mono<Boolean> reserve(Order order) {                          // released on complete, error, cancel
            return Mono.fromCallable(() -> stock.get(order.item()))
                    .delayElement(Duration.ofMillis(5))                // an asynchronous gap, still under the lock
                    .map(left -> {
                        if (left == 0) {
                            return false;
                        }
                        stock.put(order.item(), left - 1);
                        return true;
                    });
        }

        @WithLock(name = "item-#{#item}", mode = LockMode.SHARED)     // readers overlap, writers wait
        Flux<Integer> watch(String item) {
            return Flux.just(stock.get(item));
        }
    }
    // end::with-lock[]

    // tag::if-free[]
    @Service
    static class Reports {
        final List<String> built = new ArrayList<>();

        @WithLock(name = "nightly-report", ifFree = true)             // skipped (empty) while another run holds it
        Mono<String> buildIfNobodyElseIs() {
            return Mono.fromCallable(() -> {
                built.add("report");
                return "built";
            });
        }

        @WithLock(name = "archive")                                   // blocking: not on an event loop
        String archive() {
            return "archived";
        }

        List<String> built() {
            return built;
        }
    }
    // end::if-free[]

    @Test
    void twoOrdersForTheLastBookSellItOnce() {
        runner.run(context -> {
            Inventory inventory = context.getBean(Inventory.class);
            List<Boolean> results = Flux.merge(inventory.reserve(new Order("1", "book")),
                    inventory.reserve(new Order("2", "book"))).collectList().block(WAIT);
            assertThat(results).containsExactlyInAnyOrder(true, false);
            StepVerifier.create(inventory.watch("book")).expectNext(0).expectComplete().verify(WAIT);
        });
    }

    @Test
    void theNightlyReportIsSkippedWhileHeld() {
        runner.run(context -> {
            Reports reports = context.getBean(Reports.class);
            LockService locks = context.getBean(LockService.class);
            // tag::inject[]
            LockHandle running = locks.acquire("nightly-report").block(WAIT);  // another run holds it
            StepVerifier.create(reports.buildIfNobodyElseIs()).expectComplete().verify(WAIT);
            running.release().block(WAIT);
            StepVerifier.create(reports.buildIfNobodyElseIs()).expectNext("built").expectComplete().verify(WAIT);
            // end::inject[]
            // tag::reentry[]
            Mono<String> nested = locks.withLock("nightly-report", reports.buildIfNobodyElseIs());
            StepVerifier.create(nested).expectError(IllegalLockStateException.class).verify(WAIT);
            // end::reentry[]
            assertThat(reports.built()).containsExactly("report");
            assertThat(reports.archive()).isEqualTo("archived");
        });
    }
}
