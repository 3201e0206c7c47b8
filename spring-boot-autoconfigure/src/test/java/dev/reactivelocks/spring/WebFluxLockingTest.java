package dev.reactivelocks.spring;

import static org.assertj.core.api.Assertions.assertThat;

import dev.reactivelocks.LockMode;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.SpringBootConfiguration;
import org.springframework.boot.autoconfigure.EnableAutoConfiguration;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.web.server.LocalServerPort;
import org.springframework.context.annotation.Import;
import org.springframework.http.client.reactive.ReactorClientHttpConnector;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.PostMapping;
import org.springframework.web.bind.annotation.RestController;
import org.springframework.web.reactive.function.client.WebClient;
import reactor.core.Disposable;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import reactor.core.publisher.Sinks;
import reactor.netty.http.client.HttpClient;
import reactor.netty.resources.ConnectionProvider;

/**
 * 200 concurrent requests at {@link WithLock} endpoints of a WebFlux application. Bodies are plain text: Jackson's
 * codec caches take a JDK lock on first use, which BlockHound reports on the event loop.
 */
@SpringBootTest(classes = WebFluxLockingTest.App.class, webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT,
        properties = "spring.main.log-startup-info=false")
class WebFluxLockingTest {

    private static final int REQUESTS = 200;
    private static final Duration WAIT = Duration.ofSeconds(30);

    @LocalServerPort
    int port;

    @Autowired
    LocksEndpoint endpoint;

    @Autowired
    Endpoints endpoints;

    private ConnectionProvider connections;
    private WebClient client;

    @SpringBootConfiguration
    @EnableAutoConfiguration
    @Import(Endpoints.class)
    static class App {
    }

    @RestController
    static class Endpoints {
        private final GappedCounter counter = new GappedCounter();
        private final AtomicInteger readers = new AtomicInteger();
        private final AtomicInteger maxReaders = new AtomicInteger();
        private final Sinks.Empty<Void> secondReader = Sinks.empty();

        /** Read, wait, write: loses updates unless the lock excludes. */
        @PostMapping("/increment")
        @WithLock(name = "counter")
        Mono<String> increment() {
            return counter.increment().map(String::valueOf);
        }

        /** Each reader waits until a second one is inside: only possible if readers share the lock. */
        @GetMapping("/read")
        @WithLock(name = "document", mode = LockMode.SHARED)
        Mono<String> read() {
            return Mono.defer(() -> {
                int now = readers.incrementAndGet();
                maxReaders.accumulateAndGet(now, Math::max);
                if (now >= 2) {
                    secondReader.tryEmitEmpty();
                }
                return secondReader.asMono().timeout(Duration.ofSeconds(10)).thenReturn(Integer.toString(now));
            }).doFinally(s -> readers.decrementAndGet());
        }

        @GetMapping("/hold")
        @WithLock(name = "held")
        Mono<String> hold() {
            return Mono.never();
        }

        int counter() {
            return counter.value();
        }

        int maxInside() {
            return counter.maxInside();
        }

        int maxReaders() {
            return maxReaders.get();
        }
    }

    @BeforeEach
    void client() {
        connections = ConnectionProvider.builder("web-flux-locking-test").maxConnections(REQUESTS)
                .pendingAcquireMaxCount(-1).build();
        client = WebClient.builder().baseUrl("http://127.0.0.1:" + port)
                .clientConnector(new ReactorClientHttpConnector(HttpClient.create(connections))).build();
    }

    @AfterEach
    void close() {
        connections.disposeLater().block(WAIT);
    }

    @Test
    void concurrentRequestsAreExcluded() {
        List<String> results = Flux.range(0, REQUESTS)
                .flatMap(i -> client.post().uri("/increment").retrieve().bodyToMono(String.class), REQUESTS)
                .collectList().block(WAIT);
        assertThat(results).hasSize(REQUESTS).doesNotHaveDuplicates();
        assertThat(endpoints.counter()).isEqualTo(REQUESTS);
        assertThat(endpoints.maxInside()).isEqualTo(1);
    }

    @Test
    void sharedReadersOverlap() {
        List<String> results = Flux.range(0, REQUESTS)
                .flatMap(i -> client.get().uri("/read").retrieve().bodyToMono(String.class), REQUESTS)
                .collectList().block(WAIT);
        assertThat(results).hasSize(REQUESTS);
        assertThat(endpoints.maxReaders()).isGreaterThanOrEqualTo(2);
    }

    @Test
    void cancellingARequestReleasesItsLock() throws InterruptedException {
        Disposable request = client.get().uri("/hold").retrieve().bodyToMono(String.class).subscribe();
        awaitHeld(List.of("held"));
        request.dispose();
        awaitHeld(List.of());
    }

    private void awaitHeld(List<String> names) throws InterruptedException {
        long deadline = System.nanoTime() + WAIT.toNanos();
        while (!heldNames().equals(names) && System.nanoTime() < deadline) {
            Thread.sleep(10);
        }
        assertThat(heldNames()).isEqualTo(names);
    }

    private List<String> heldNames() {
        return endpoint.locks().locks().stream().map(HeldLock::name).toList();
    }
}
