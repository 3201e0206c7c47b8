package dev.reactivelocks.micrometer;

import static org.assertj.core.api.Assertions.assertThat;

import dev.reactivelocks.LockHandle;
import dev.reactivelocks.LockService;
import io.micrometer.core.instrument.Meter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.MockClock;
import io.micrometer.core.instrument.Tags;
import io.micrometer.core.instrument.Timer;
import io.micrometer.core.instrument.config.MeterFilter;
import io.micrometer.core.instrument.distribution.DistributionStatisticConfig;
import io.micrometer.core.instrument.simple.SimpleConfig;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.jspecify.annotations.Nullable;
import org.junit.jupiter.api.Test;
import reactor.core.publisher.Mono;
import reactor.test.StepVerifier;

/**
 * The examples of the metrics guide ({@code docs/src/main/asciidoc/metrics.adoc}) and of the metrics section
 * of the testing guide, compiled and run; the guides include their tagged regions from this file.
 */
class MetricsGuideExamplesTest {

    private static final Duration WAIT = Duration.ofSeconds(10);
    private static final Path THIS_FILE =
            Path.of("src/test/java/dev/reactivelocks/micrometer/MetricsGuideExamplesTest.java");

    @Test
    void instrumentAService() {
        MeterRegistry registry = new SimpleMeterRegistry();
        // tag::instrument[]
        MeteredLockService locks = MeteredLockService.builder(LockService.inProcess(), registry)
                .serviceName("orders")
                .tags(Tags.of("region", "eu"))
                .build();

        Mono<String> saved = locks.withLock("order-42", Mono.just("saved"));   // timed, gauged, counted
        // end::instrument[]
        StepVerifier.create(saved).expectNext("saved").expectComplete().verify(WAIT);
        Timer hold = registry.get("reactivelocks.hold").tags("service", "orders", "mode", "exclusive").timer();
        assertThat(hold.count()).isEqualTo(1);
        assertThat(hold.getId().getTag("region")).isEqualTo("eu");
        locks.disposeLater().block(WAIT);
    }

    @Test
    void exactDurationsWithAMockClock() {
        // tag::mock-clock[]
        MockClock clock = new MockClock();
        SimpleMeterRegistry registry = new SimpleMeterRegistry(SimpleConfig.DEFAULT, clock);
        MeteredLockService locks = MeteredLockService.of(LockService.inProcess(), registry, "orders");

        LockHandle handle = locks.acquire("a").block(Duration.ofSeconds(5));
        clock.add(Duration.ofMillis(30));
        handle.release().block(Duration.ofSeconds(5));

        Timer hold = registry.get(LockMeters.HOLD).tags("service", "orders", "mode", "exclusive").timer();
        assertThat(hold.count()).isEqualTo(1);
        assertThat(hold.totalTime(TimeUnit.MILLISECONDS)).isEqualTo(30.0);
        // end::mock-clock[]
        locks.disposeLater().block(WAIT);
    }

    @Test
    void percentilesAreConfiguredOnTheRegistry() {
        SimpleMeterRegistry registry = new SimpleMeterRegistry();
        // tag::percentiles[]
        registry.config().meterFilter(new MeterFilter() {
            @Override
            public @Nullable DistributionStatisticConfig configure(Meter.Id id, DistributionStatisticConfig config) {
                if (id.getName().equals(LockMeters.WAIT)) {
                    return DistributionStatisticConfig.builder().percentiles(0.5, 0.99).build().merge(config);
                }
                return config;
            }
        });
        // end::percentiles[]
        MeteredLockService locks = MeteredLockService.of(LockService.inProcess(), registry, "orders");
        locks.withLock("a", Mono.just(1)).block(WAIT);
        assertThat(registry.find("reactivelocks.wait.percentile").tag("mode", "exclusive").gauges()).hasSize(2);
        locks.disposeLater().block(WAIT);
    }

    @Test
    void everyRegionTheGuidesIncludeIsTaggedHere() throws IOException {
        Pattern pattern = Pattern.compile("include::\\{metrics-examples}/([^\\[]+)\\[tag=([^\\]]+)]");
        String source = Files.readString(THIS_FILE);
        int includes = 0;
        for (String guide : new String[] {"metrics.adoc", "testing.adoc"}) {
            Matcher include = pattern.matcher(Files.readString(Path.of("../docs/src/main/asciidoc", guide)));
            while (include.find()) {
                includes++;
                assertThat(include.group(1)).isEqualTo(THIS_FILE.getFileName().toString());
                assertThat(source).contains("// tag::" + include.group(2) + "[]", "// end::" + include.group(2) + "[]");
            }
        }
        assertThat(includes).isEqualTo(3);
    }
}
