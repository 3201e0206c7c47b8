package dev.reactivelocks.testkit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.platform.testkit.engine.EventConditions.event;
import static org.junit.platform.testkit.engine.EventConditions.finishedWithFailure;
import static org.junit.platform.testkit.engine.EventConditions.test;
import static org.junit.platform.testkit.engine.TestExecutionResultConditions.instanceOf;
import static org.junit.platform.testkit.engine.TestExecutionResultConditions.message;

import dev.reactivelocks.LockHandle;
import dev.reactivelocks.LockOptions;
import dev.reactivelocks.LockService;
import dev.reactivelocks.LockTimeoutException;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.platform.testkit.engine.Events;

/**
 * Runs the nested {@code *Case} classes through the Jupiter engine and checks, from outside, that the lock
 * is busy while each test runs and free once it has finished.
 */
class LockFixtureTest {

    private static final Duration WAIT = Duration.ofSeconds(10);

    /** The service the cases lock; shared with the cases through this field. */
    static LockService locks;

    /** What the cases saw while they ran. */
    static final List<String> SEEN = new CopyOnWriteArrayList<>();
    static final List<LockHandle> HANDLES = new CopyOnWriteArrayList<>();

    @BeforeEach
    void createService() {
        locks = LockService.inProcess();
        SEEN.clear();
        HANDLES.clear();
    }

    @AfterEach
    void disposeService() {
        locks.disposeLater().block(WAIT);
    }

    private static Events run(Class<?> testClass) {
        return CaseRunner.run(testClass);
    }

    private static boolean free(String name, LockOptions options) {
        LockHandle h = locks.tryAcquire(name, options).block(WAIT);
        if (h == null) {
            return false;
        }
        h.release().block(WAIT);
        return true;
    }

    // ---- cases -------------------------------------------------------------------------------------

    @EngineTestKitCase
    static class ExclusiveCase {

        @RegisterExtension
        final LockFixture reportLock = LockFixture.holding(locks, "report");

        @BeforeEach
        void before() {
            SEEN.add("before: exclusive free=" + free("report", LockOptions.exclusive()));
        }

        @Test
        void passes() {
            SEEN.add("passes: exclusive free=" + free("report", LockOptions.exclusive())
                    + ", shared free=" + free("report", LockOptions.shared()));
            HANDLES.add(reportLock.handle());
        }

        @Test
        void fails() {
            HANDLES.add(reportLock.handle());
            throw new AssertionError("the test failed");
        }

        @AfterEach
        void after() {
            SEEN.add("after: exclusive free=" + free("report", LockOptions.exclusive()));
        }
    }

    @EngineTestKitCase
    static class SharedCase {

        @RegisterExtension
        final LockFixture readers = LockFixture.holding(locks, "catalog", LockOptions.shared());

        @Test
        void sharedHoldersMayJoin() {
            SEEN.add("exclusive free=" + free("catalog", LockOptions.exclusive())
                    + ", shared free=" + free("catalog", LockOptions.shared()));
        }
    }

    @EngineTestKitCase
    static class EarlyReleaseCase {

        @RegisterExtension
        final LockFixture fixture = LockFixture.holding(locks, "early");

        @Test
        void releasesItself() {
            fixture.handle().release().block(WAIT);
            SEEN.add("after early release free=" + free("early", LockOptions.exclusive()));
        }
    }

    @EngineTestKitCase
    static class BusyCase {

        @RegisterExtension
        final LockFixture fixture = LockFixture.holding(locks, "busy").acquireTimeout(Duration.ofMillis(200));

        @Test
        void neverRuns() {
            SEEN.add("ran");
        }
    }

    // ---- tests -------------------------------------------------------------------------------------

    @Test
    void lockIsBusyDuringEachTestAndFreeAfterwardsEvenWhenTheTestFails() {
        run(ExclusiveCase.class).assertStatistics(s -> s.started(2).succeeded(1).failed(1));

        assertThat(SEEN).containsOnly(
                "before: exclusive free=false",
                "passes: exclusive free=false, shared free=false",
                "after: exclusive free=false");
        assertThat(SEEN).hasSize(5);
        assertThat(HANDLES).hasSize(2).allSatisfy(h -> {
            assertThat(h.name()).isEqualTo("report");
            assertThat(h.isHeld()).as("released after its test").isFalse();
        });
        assertThat(HANDLES.get(0).fencingToken()).as("a new grant per test")
                .isNotEqualTo(HANDLES.get(1).fencingToken());
        assertThat(free("report", LockOptions.exclusive())).isTrue();
    }

    @Test
    void sharedFixtureAdmitsSharedHoldersOnly() {
        run(SharedCase.class).assertStatistics(s -> s.succeeded(1).failed(0));
        assertThat(SEEN).containsExactly("exclusive free=false, shared free=true");
        assertThat(free("catalog", LockOptions.exclusive())).isTrue();
    }

    @Test
    void aTestMayReleaseEarlyAndTheFixtureDoesNotReleaseTwice() {
        run(EarlyReleaseCase.class).assertStatistics(s -> s.succeeded(1).failed(0));
        assertThat(SEEN).containsExactly("after early release free=true");
        assertThat(free("early", LockOptions.exclusive())).isTrue();
    }

    @Test
    void aLockThatStaysBusyFailsTheTestWithoutRunningIt() {
        LockHandle elsewhere = locks.acquire("busy").block(WAIT);
        run(BusyCase.class).assertThatEvents().haveExactly(1, event(test("neverRuns"), finishedWithFailure(
                instanceOf(LockTimeoutException.class),
                message("Lock 'busy' (EXCLUSIVE) not acquired within 200ms"))));
        assertThat(SEEN).isEmpty();
        assertThat(elsewhere.isHeld()).isTrue();
        elsewhere.release().block(WAIT);
        assertThat(free("busy", LockOptions.exclusive())).as("the timed-out fixture left nothing queued").isTrue();
    }

    @Test
    void handleIsUnavailableOutsideATestAndArgumentsAreChecked() {
        LockFixture fixture = LockFixture.holding(locks, "idle");
        assertThatThrownBy(fixture::handle)
                .isInstanceOf(IllegalStateException.class)
                .hasMessage("LockFixture for 'idle' holds no lock outside a test");
        assertThatThrownBy(() -> LockFixture.holding(locks, ""))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("name must not be empty");
        assertThatThrownBy(() -> fixture.acquireTimeout(Duration.ofMillis(-1)))
                .isInstanceOf(IllegalArgumentException.class);
    }
}
