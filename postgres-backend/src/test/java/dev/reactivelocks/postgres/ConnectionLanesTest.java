package dev.reactivelocks.postgres;

import static org.assertj.core.api.Assertions.assertThat;

import io.r2dbc.spi.Connection;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Function;
import org.junit.jupiter.api.Test;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import reactor.core.publisher.Sinks;

/** The order in which the lanes start queued operations, on a real server. */
class ConnectionLanesTest {

    private static final Duration WAIT = Duration.ofSeconds(30);

    /**
     * Issue 21: with thousands of waiters asking at once, a renewal queued behind their acquisitions started
     * after its lease had expired. Operations queued by {@code runFirst} start before those queued by
     * {@code run}, and each kind keeps its own order.
     */
    @Test
    void runFirstStartsBeforeEveryOperationQueuedByRun() {
        ConnectionLanes lanes = new ConnectionLanes(PostgresTestSupport.factory("rl-lanes"), 1);
        Sinks.Empty<Void> busy = Sinks.empty();
        List<String> started = new CopyOnWriteArrayList<>();
        Sinks.Empty<Void> running = Sinks.empty();
        lanes.run(c -> { // the only lane, held until busy completes
            running.tryEmitEmpty();
            return busy.asMono().thenReturn(1);
        }).subscribe();
        running.asMono().block(WAIT);
        List<Mono<Integer>> calls = new ArrayList<>();
        for (int i = 0; i < 20; i++) {
            calls.add(lanes.run(selectOne(started, "acquire-" + i)).cache());
            if (i == 10) {
                calls.add(lanes.runFirst(selectOne(started, "renew-a")).cache());
            }
        }
        calls.add(lanes.runFirst(selectOne(started, "release-b")).cache());
        calls.forEach(call -> call.subscribe()); // queued in this order

        busy.tryEmitEmpty();
        Flux.merge(calls).blockLast(WAIT);

        List<String> expected = new ArrayList<>(List.of("renew-a", "release-b"));
        for (int i = 0; i < 20; i++) {
            expected.add("acquire-" + i);
        }
        assertThat(started).containsExactlyElementsOf(expected);
    }

    private static Function<Connection, Mono<Integer>> selectOne(List<String> started, String label) {
        return c -> {
            started.add(label);
            return Flux.from(c.createStatement("SELECT 1").execute())
                    .concatMap(r -> r.map((row, md) -> row.get(0, Integer.class)))
                    .next();
        };
    }
}
