package dev.reactivelocks.spring;

import static org.assertj.core.api.Assertions.assertThat;

import dev.reactivelocks.LockHandle;
import dev.reactivelocks.LockService;
import dev.reactivelocks.distributed.DistributedLockService;
import dev.reactivelocks.testkit.servers.RedisServerProcess;
import java.time.Duration;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.springframework.boot.WebApplicationType;
import org.springframework.boot.builder.SpringApplicationBuilder;
import org.springframework.boot.health.contributor.Health;
import org.springframework.boot.health.contributor.Status;
import org.springframework.context.ConfigurableApplicationContext;

/**
 * The {@code lockService} health of reactive-locks.type=redis while a lock is held, on a {@code redis-server} the
 * test starts on a free port and then suspends (SIGSTOP: connected, but silent), resumes and kills, by its pid; the
 * shared test server is not touched.
 */
class RedisHealthTest {

    private static final Duration WAIT = Duration.ofSeconds(30);

    private RedisServerProcess server;
    private ConfigurableApplicationContext app;
    private boolean suspended;

    @BeforeEach
    void start() throws Exception {
        server = RedisServerProcess.start();
        app = new SpringApplicationBuilder(ReactiveLocksAutoConfiguration.class).web(WebApplicationType.NONE)
                .properties("reactive-locks.type=redis", "reactive-locks.redis.url=redis://127.0.0.1:" + server.port(),
                        "reactive-locks.redis.restart-grace=0s",   // a new server: nothing to lose yet
                        // renewals time out after 1s; the lease outlives a silent phase and one 5s health probe
                        "reactive-locks.lease=30s", "reactive-locks.renew-every=1s",
                        "reactive-locks.shutdown-timeout=100ms", "spring.main.banner-mode=off",
                        "spring.main.log-startup-info=false")
                .run();
    }

    @AfterEach
    void stop() throws Exception {
        try {
            if (suspended) {
                signal("CONT");
            }
            app.close();
        } finally {
            server.close();
        }
    }

    @Test
    void upWhileRenewalsSucceedDownWhileTheServerIsSilentOrGoneAndUpAgainWhenItAnswers() throws Exception {
        LockService locks = app.getBean(LockService.class);
        DistributedLockService service = ((ManagedLockService) locks).distributed();
        LockHandle held = locks.acquire("job").block(WAIT);
        Health up = Health.up().withDetail("type", "redis").withDetail("held", 1).withDetail("failingRenewals", 0)
                .build();
        assertThat(health()).isEqualTo(up);

        signal("STOP");
        until(() -> service.failingRenewalCount() == 1, "a renewal of the held lock timed out");
        Health silent = health();
        assertThat(silent.getStatus()).isEqualTo(Status.DOWN);
        assertThat(silent.getDetails()).containsEntry("type", "redis").containsEntry("held", 1)
                .containsEntry("failingRenewals", 1).containsKey("error");
        assertThat((String) silent.getDetails().get("renewalError"))
                .startsWith("java.util.concurrent.TimeoutException");

        signal("CONT");
        until(() -> service.failingRenewalCount() == 0, "a renewal succeeded again");
        assertThat(held.isHeld()).isTrue();
        assertThat(health()).isEqualTo(up);

        server.stop();
        until(() -> service.failingRenewalCount() == 1, "a renewal failed on the closed connection");
        Health gone = health();
        assertThat(gone.getStatus()).isEqualTo(Status.DOWN);
        assertThat(gone.getDetails()).containsEntry("failingRenewals", 1).containsKey("error")
                .containsKey("renewalError");
    }

    private Health health() {
        return LockServiceAutoConfigurationTest.health(app).block(WAIT);
    }

    private void signal(String signal) throws Exception {
        Process kill = new ProcessBuilder("kill", "-" + signal, Long.toString(server.pid())).start();
        assertThat(kill.waitFor()).as("kill -" + signal).isZero();
        suspended = signal.equals("STOP");
    }

    /** Polls (on this test thread) until the condition holds; fails after {@link #WAIT}. */
    private static void until(BooleanSupplier condition, String what) throws InterruptedException {
        long deadline = System.nanoTime() + WAIT.toNanos();
        while (!condition.getAsBoolean()) {
            assertThat(System.nanoTime()).as("waiting until " + what).isLessThan(deadline);
            Thread.sleep(20);
        }
    }
}
