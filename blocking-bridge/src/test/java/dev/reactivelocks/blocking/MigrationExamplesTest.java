package dev.reactivelocks.blocking;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.reactivelocks.InProcessLockService;
import dev.reactivelocks.LockHandle;
import dev.reactivelocks.LockOptions;
import dev.reactivelocks.LockService;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.locks.Lock;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The samples of {@code docs/src/main/asciidoc/blocking.adoc} (tagged regions), compiled and executed:
 * migrating oslo.concurrency's and djangae's {@code with lock(...)} blocks to {@link BlockingLockService}.
 */
class MigrationExamplesTest {

    private final InProcessLockService lockService = LockService.builder().build();
    private final List<String> log = Collections.synchronizedList(new ArrayList<>());

    @AfterEach
    void tearDown() {
        lockService.dispose();
    }

    // The application's work in the samples; each records whether it ran under the lock.
    private void refreshCache() {
        log.add("refreshCache, lock 'x' busy for others: " + busy("x"));
    }

    private void sendDigest() {
        log.add("sendDigest, lock 'x' busy for others: " + busy("x"));
    }

    private String loadReport() {
        log.add("loadReport");
        return "report";
    }

    private boolean busy(String name) {
        return lockService.tryAcquire(name).blockOptional(Duration.ofSeconds(1)).map(h -> {
            h.release().block(Duration.ofSeconds(1));
            return false;
        }).orElse(true);
    }

    /** Stands in for djangae's {@code LockAcquisitionError}. */
    static final class LockAcquisitionError extends RuntimeException {
        private static final long serialVersionUID = 1L;

        LockAcquisitionError(String name) {
            super("Lock '" + name + "' is busy");
        }
    }

    /** oslo: {@code with lockutils.lock('x', external=True): refresh_cache()}. */
    void oslo(LockService fileLocks) throws InterruptedException {
        // tag::oslo[]
        // external=True: pass the file lock service, so that other processes on the host are excluded too;
        // create one BlockingLockService per LockService and share it
        BlockingLockService locks = BlockingLockService.of(fileLocks);

        try (BlockingLockHandle lock = locks.lock("x")) {   // with lockutils.lock('x', external=True):
            refreshCache();                                 //     refresh_cache()
        }                                                   // released here, even on exceptions
        // end::oslo[]
    }

    /** oslo: {@code @lockutils.synchronized('x', external=True)} on a function returning a value. */
    String osloSynchronized(BlockingLockService locks) throws InterruptedException {
        // tag::oslo-synchronized[]
        return locks.withLock("x", () -> loadReport());     // @lockutils.synchronized('x', external=True)
        // end::oslo-synchronized[]
    }

    /** djangae: {@code with lock('x', wait=False): send_digest()}, bailing out when busy. */
    void djangae(BlockingLockService locks) {
        // tag::djangae[]
        Optional<BlockingLockHandle> lock = locks.tryLock("x");    // lock('x', wait=False): no waiting
        if (lock.isPresent()) {
            try (BlockingLockHandle held = lock.get()) {
                sendDigest();
            }
        } else {
            log.add("skipped: another worker is sending the digest");
        }
        // end::djangae[]
    }

    /** djangae: the same, raising like djangae's context manager does. */
    void djangaeRaising(BlockingLockService locks) {
        // tag::djangae-raise[]
        try (BlockingLockHandle lock = locks.tryLock("x")
                .orElseThrow(() -> new LockAcquisitionError("x"))) { // raises LockAcquisitionError when busy
            sendDigest();
        }
        // end::djangae-raise[]
    }

    /** djangae: {@code with lock('x', wait_for_ms=2000)}. */
    void djangaeWaitFor(BlockingLockService locks) throws InterruptedException {
        // tag::djangae-wait-for[]
        Optional<BlockingLockHandle> lock =
                locks.tryLock("x", LockOptions.exclusive().timeout(Duration.ofMillis(2000)));  // wait_for_ms=2000
        // end::djangae-wait-for[]
        lock.ifPresent(BlockingLockHandle::close);
    }

    /** Code written against {@code java.util.concurrent.locks.Lock}. */
    void jucLock(BlockingLockService locks) {
        // tag::juc[]
        Lock lock = locks.asLock("x");   // was: new ReentrantLock(), but now shared with reactive code
        lock.lock();
        try {
            refreshCache();
        } finally {
            lock.unlock();               // by the same thread, as java.util.concurrent requires
        }
        // end::juc[]
    }

    @Test
    void osloSampleRunsTheWorkUnderTheLockAndReleasesIt() throws Exception {
        oslo(lockService);
        assertThat(log).containsExactly("refreshCache, lock 'x' busy for others: true");
        assertThat(busy("x")).isFalse();
    }

    @Test
    void osloSampleWaitsForAReactiveHolder() throws Exception {
        LockHandle reactive = lockService.acquire("x").block(Duration.ofSeconds(1));
        Thread waiting = new Thread(() -> {
            try {
                oslo(lockService);
            } catch (InterruptedException e) {
                log.add("interrupted");
            }
        });
        waiting.start();
        Conditions.awaitPending(lockService, "x", 1);
        assertThat(log).isEmpty();
        reactive.release().block(Duration.ofSeconds(1));
        waiting.join(Conditions.WAIT.toMillis());
        assertThat(log).containsExactly("refreshCache, lock 'x' busy for others: true");
    }

    @Test
    void osloSynchronizedSampleReturnsTheValue() throws Exception {
        assertThat(osloSynchronized(BlockingLockService.of(lockService))).isEqualTo("report");
        assertThat(busy("x")).isFalse();
    }

    @Test
    void djangaeSampleSkipsWhileAnotherHolderHoldsTheLock() {
        BlockingLockService locks = BlockingLockService.of(lockService);
        LockHandle other = lockService.acquire("x").block(Duration.ofSeconds(1));
        djangae(locks);
        assertThatThrownBy(() -> djangaeRaising(locks))
                .isInstanceOf(LockAcquisitionError.class)
                .hasMessage("Lock 'x' is busy");
        other.release().block(Duration.ofSeconds(1));
        djangae(locks);
        djangaeRaising(locks);
        assertThat(log).containsExactly(
                "skipped: another worker is sending the digest",
                "sendDigest, lock 'x' busy for others: true",
                "sendDigest, lock 'x' busy for others: true");
        assertThat(busy("x")).isFalse();
    }

    @Test
    void djangaeWaitForSampleAndJucSampleHoldAndRelease() throws Exception {
        BlockingLockService locks = BlockingLockService.of(lockService);
        djangaeWaitFor(locks);
        jucLock(locks);
        assertThat(log).containsExactly("refreshCache, lock 'x' busy for others: true");
        assertThat(busy("x")).isFalse();
    }
}
