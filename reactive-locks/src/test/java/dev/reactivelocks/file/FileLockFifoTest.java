package dev.reactivelocks.file;

import static org.assertj.core.api.Assertions.assertThat;

import dev.reactivelocks.LockHandle;
import dev.reactivelocks.LockMode;
import dev.reactivelocks.LockOptions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import reactor.core.scheduler.Schedulers;

/**
 * Inside one JVM, acquisitions of one lock file are granted in the order they were subscribed, whichever
 * thread subscribes them and whether or not the file's identity was remembered: an acquisition subscribed on
 * a thread where the file calls run on the file scheduler keeps its place before one subscribed later on a
 * thread where they run inline. The file scheduler here is one thread that the test holds back, so that any
 * work an acquisition leaves to it runs only after the later acquisition subscribed.
 */
class FileLockFifoTest {

    private static final Duration WAIT = FileLockFixture.WAIT;

    @RegisterExtension
    final FileLockFixture fixture = new FileLockFixture();

    private final HeldBackFileScheduler fileThread = fixture.heldBackFileScheduler();

    /**
     * H holds the file; A, whose identity is remembered, is subscribed on a {@code parallel()} thread (file
     * calls go to the file scheduler, held back), then B on this thread (file calls inline). Once H releases,
     * A is granted before B, for an exclusive and a shared A (B exclusive: writer preference does not reorder
     * a waiting shared acquisition behind a later exclusive one).
     */
    @Test
    void aRememberedAcquisitionFromANonBlockingThreadKeepsItsPlaceBeforeALaterOne() throws Exception {
        FileLockService locks = fixture.service(FileLockConfig.builder().scheduler(fileThread.scheduler()));
        for (LockMode modeOfA : LockMode.values()) {
            String name = "fifo-" + modeOfA;
            LockHandle holder = locks.acquire(name).block(WAIT); // looked up: the identity is remembered
            List<String> grants = Collections.synchronizedList(new ArrayList<>());

            fileThread.gate();

            CountDownLatch aSubscribed = new CountDownLatch(1);
            Schedulers.parallel().schedule(() -> {
                locks.acquire(name, LockOptions.of(modeOfA).timeout(WAIT))
                        .subscribe(h -> granted(grants, "A", h));
                aSubscribed.countDown();
            });
            assertThat(aSubscribed.await(WAIT.toMillis(), TimeUnit.MILLISECONDS)).isTrue();
            locks.acquire(name, LockOptions.exclusive().timeout(WAIT)).subscribe(h -> granted(grants, "B", h));

            fileThread.open(); // what A left to it ran
            holder.release().block(WAIT);
            FileLockServiceTest.await(() -> grants.size() == 2, modeOfA + " A and B granted");
            assertThat(grants).as(modeOfA + " A, subscribed first").containsExactly("A", "B");
        }
    }

    private static void granted(List<String> grants, String who, LockHandle h) {
        grants.add(who);
        h.release().subscribe();
    }
}
