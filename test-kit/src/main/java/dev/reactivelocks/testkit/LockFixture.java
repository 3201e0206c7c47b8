package dev.reactivelocks.testkit;

import dev.reactivelocks.LockHandle;
import dev.reactivelocks.LockOptions;
import dev.reactivelocks.LockService;
import java.time.Duration;
import java.util.Objects;
import org.jspecify.annotations.Nullable;
import org.junit.jupiter.api.extension.AfterEachCallback;
import org.junit.jupiter.api.extension.BeforeEachCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

/**
 * Holds a named lock while each test runs, like oslo.concurrency's {@code LockFixture}: register it with
 * {@code @RegisterExtension}; it acquires the lock before every test (before the {@code @BeforeEach}
 * methods) and releases it after every test (after the {@code @AfterEach} methods), whether the test passed
 * or not. Code under test then finds the lock busy, which is how to test a timeout, a {@code tryAcquire}
 * that gives up, or a job that must skip work another process is doing.
 *
 * <pre>{@code
 * class ReportJobTest {
 *     static final LockService locks = LockService.inProcess();
 *
 *     @RegisterExtension
 *     final LockFixture reportLock = LockFixture.holding(locks, "report");
 *
 *     @Test
 *     void skipsWhenAnotherRunHoldsTheLock() {
 *         assertThat(new ReportJob(locks).runIfFree().block()).isEqualTo(Outcome.SKIPPED);
 *     }
 * }
 * }</pre>
 *
 * <p>The service must exist when the fixture runs, i.e. be created in a field initializer or a static
 * field, not in a {@code @BeforeEach} method; its lifecycle stays the test's business. Works with any
 * {@link LockService} (in-process, file, distributed).
 *
 * <p><b>Threading</b>: acquisition and release wait on the JUnit thread, bounded by
 * {@link #acquireTimeout(Duration)}; never call the fixture from a Reactor thread. One fixture serves one
 * test at a time: do not run the tests of a class that declares it in parallel with each other.
 */
public final class LockFixture implements BeforeEachCallback, AfterEachCallback {

    private static final Duration DEFAULT_TIMEOUT = Duration.ofSeconds(10);

    private final LockService service;
    private final String name;
    private final LockOptions options;
    private final Duration acquireTimeout;
    private volatile @Nullable LockHandle handle;

    private LockFixture(LockService service, String name, LockOptions options, Duration acquireTimeout) {
        this.service = service;
        this.name = name;
        this.options = options;
        this.acquireTimeout = acquireTimeout;
    }

    /**
     * A fixture holding {@code name} exclusively during each test.
     *
     * @param service the service to acquire from
     * @param name the lock name, not empty
     * @return the fixture, to register with {@code @RegisterExtension}
     */
    public static LockFixture holding(LockService service, String name) {
        return holding(service, name, LockOptions.exclusive());
    }

    /**
     * A fixture holding {@code name} in the mode of {@code options} during each test. A timeout in
     * {@code options} replaces the {@linkplain #acquireTimeout(Duration) acquire timeout}.
     *
     * @param service the service to acquire from
     * @param name the lock name, not empty
     * @param options the mode, and optionally how long to wait for the lock
     * @return the fixture, to register with {@code @RegisterExtension}
     * @throws IllegalArgumentException if {@code name} is empty
     */
    public static LockFixture holding(LockService service, String name, LockOptions options) {
        Objects.requireNonNull(service, "service");
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(options, "options");
        if (name.isEmpty()) {
            throw new IllegalArgumentException("name must not be empty");
        }
        Duration timeout = options.timeout().orElse(DEFAULT_TIMEOUT);
        return new LockFixture(service, name, options.timeout(timeout), timeout);
    }

    /**
     * Returns a copy that waits at most {@code timeout} for the lock before each test; when the lock is not
     * granted in time the test fails with {@link dev.reactivelocks.LockTimeoutException} and does not run.
     * Defaults to 10 seconds.
     *
     * @param timeout how long to wait, zero or positive
     * @return a new fixture
     * @throws IllegalArgumentException if {@code timeout} is negative
     */
    public LockFixture acquireTimeout(Duration timeout) {
        return new LockFixture(service, name, options.timeout(timeout), timeout);
    }

    /** @return the lock name this fixture holds */
    public String name() {
        return name;
    }

    /**
     * The grant held for the running test, e.g. for its fencing token or to release it early (the fixture's
     * own release then does nothing).
     *
     * @return the handle of the running test
     * @throws IllegalStateException outside a test
     */
    public LockHandle handle() {
        LockHandle h = handle;
        if (h == null) {
            throw new IllegalStateException("LockFixture for '" + name + "' holds no lock outside a test");
        }
        return h;
    }

    @Override
    public void beforeEach(ExtensionContext context) {
        LockHandle h = service.acquire(name, options).block(acquireTimeout.plus(DEFAULT_TIMEOUT));
        if (h == null) {
            throw new IllegalStateException("Lock '" + name + "' acquisition completed without a handle");
        }
        handle = h;
    }

    @Override
    public void afterEach(ExtensionContext context) {
        LockHandle h = handle;
        handle = null;
        if (h != null) {
            h.release().block(acquireTimeout.plus(DEFAULT_TIMEOUT));
        }
    }

    @Override
    public String toString() {
        return "LockFixture{name='" + name + "', options=" + options + "}";
    }
}
