package dev.reactivelocks.sample;

import static org.assertj.core.api.Assertions.assertThat;

import dev.reactivelocks.LockHandle;
import dev.reactivelocks.LockService;
import dev.reactivelocks.testkit.servers.TestPostgres;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ThreadLocalRandom;
import java.util.function.Function;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.springframework.boot.SpringApplication;
import org.springframework.context.ConfigurableApplicationContext;
import org.springframework.web.reactive.function.client.WebClient;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;

/**
 * Runs the sample application as it is deployed: two instances (each with its own web server, connection pool and
 * lock service) on one PostgreSQL database ({@link TestPostgres}: configured, local or embedded), and sends them
 * concurrent requests.
 */
class InventoryApplicationTest {

    private static final Duration WAIT = Duration.ofSeconds(60);
    private static final List<ConfigurableApplicationContext> INSTANCES = new ArrayList<>();

    private static WebClient first;
    private static WebClient second;

    private final String item = "book-" + Long.toHexString(ThreadLocalRandom.current().nextLong() & 0xffffffL);

    @BeforeAll
    static void startTwoInstances() {
        first = client(start("--inventory.lock-timeout=60s"));
        second = client(start("--inventory.lock-timeout=60s"));
    }

    @AfterAll
    static void stopInstances() {
        INSTANCES.forEach(ConfigurableApplicationContext::close);
    }

    /** An instance of the sample application on a free port, run the way its main method runs it. */
    static ConfigurableApplicationContext start(String... args) {
        List<String> all = new ArrayList<>(List.of("--server.port=0",
                "--spring.r2dbc.url=" + TestPostgres.get().r2dbcUrl(),
                "--spring.main.banner-mode=off", "--spring.main.log-startup-info=false"));
        all.addAll(List.of(args));
        ConfigurableApplicationContext instance = SpringApplication.run(InventoryApplication.class,
                all.toArray(String[]::new));
        INSTANCES.add(instance);
        return instance;
    }

    static WebClient client(ConfigurableApplicationContext instance) {
        return WebClient.create("http://127.0.0.1:" + instance.getEnvironment().getProperty("local.server.port"));
    }

    private static Mono<String> answer(WebClient.RequestHeadersSpec<?> request) {
        return request.exchangeToMono(r -> r.bodyToMono(String.class).defaultIfEmpty("")
                .map(body -> r.statusCode().value() + " " + body));
    }

    private Mono<String> restock(WebClient instance, int quantity) {
        return answer(instance.put().uri("/items/{item}", item).bodyValue(Integer.toString(quantity)));
    }

    private Mono<String> reserve(WebClient instance) {
        return answer(instance.post().uri("/items/{item}/reservations", item));
    }

    private Mono<String> quantity(WebClient instance) {
        return answer(instance.get().uri("/items/{item}", item));
    }

    @Test
    void twoInstancesSellEachPieceOnce() {
        assertThat(restock(first, 10).block(WAIT)).isEqualTo("200 10");
        Map<String, Long> answers = Flux.range(0, 60)
                .flatMap(i -> reserve(i % 2 == 0 ? first : second), 60)
                .collect(Collectors.groupingBy(Function.identity(), Collectors.counting()))
                .block(WAIT);
        assertThat(answers).isEqualTo(Map.of("201 reserved", 10L, "409 sold out", 50L));
        assertThat(quantity(second).block(WAIT)).isEqualTo("200 0");
    }

    @Test
    void aReservationWaitsWhileTheOtherInstanceHoldsTheItem() throws InterruptedException {
        assertThat(restock(first, 1).block(WAIT)).isEqualTo("200 1");
        LockService secondsLocks = INSTANCES.get(1).getBean(LockService.class);
        LockHandle held = secondsLocks.acquire("item-" + item).block(WAIT);
        List<String> events = new ArrayList<>();
        Mono<String> reservation = reserve(first).doOnNext(answer -> {
            synchronized (events) {
                events.add("answered " + answer);
            }
        }).cache();
        reservation.subscribe();
        Thread.sleep(500);   // gives the request time to reach the lock
        synchronized (events) {
            events.add("released");
        }
        held.release().block(WAIT);
        assertThat(reservation.block(WAIT)).isEqualTo("201 reserved");
        assertThat(events).containsExactly("released", "answered 201 reserved");
    }

    @Test
    void aReservationThatCannotGetTheItemInTimeIsRefused() {
        WebClient impatient = client(start("--inventory.lock-timeout=100ms"));
        assertThat(restock(first, 1).block(WAIT)).isEqualTo("200 1");
        LockHandle held = INSTANCES.get(1).getBean(LockService.class).acquire("item-" + item).block(WAIT);
        try {
            assertThat(reserve(impatient).block(WAIT)).isEqualTo("503 busy, try again");
        } finally {
            held.release().block(WAIT);
        }
        assertThat(quantity(first).block(WAIT)).as("nothing sold").isEqualTo("200 1");
    }
}
