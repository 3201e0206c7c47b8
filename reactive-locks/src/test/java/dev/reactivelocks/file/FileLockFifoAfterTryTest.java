package dev.reactivelocks.file;

import static org.assertj.core.api.Assertions.assertThat;

import dev.reactivelocks.LockHandle;
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
 * FIFO inside one JVM after a {@code tryAcquire} found the lock busy: the busy try of a remembered identity
 * forgets it (and looks the file up again, on the file scheduler from a non-blocking thread), so the next
 * acquisition subscribed on a non-blocking thread is not remembered either, and one subscribed later on a
 * thread that may block (its lookup inline) enters the in-JVM queue ahead of it.
 */
class FileLockFifoAfterTryTest {

    private static final Duration WAIT = FileLockFixture.WAIT;

    @RegisterExtension
    final FileLockFixture fixture = new FileLockFixture();

    private final HeldBackFileScheduler fileThread = fixture.heldBackFileScheduler();

    @Test
    void aBusyTryDoesNotLetALaterAcquisitionOvertakeAnEarlierOne() throws Exception {
        FileLockService locks = fixture.service(FileLockConfig.builder().scheduler(fileThread.scheduler()));
        String name = "fifo-after-try";
        LockHandle holder = locks.acquire(name).block(WAIT); // looked up: the identity is remembered
        List<String> grants = Collections.synchronizedList(new ArrayList<>());

        fileThread.gate();

        CountDownLatch subscribed = new CountDownLatch(1);
        Schedulers.parallel().schedule(() -> {
            // a try finds the lock busy (as tries do), then A waits
            locks.tryAcquire(name).subscribe(h -> h.release().subscribe());
            locks.acquire(name, LockOptions.exclusive().timeout(WAIT)).subscribe(h -> granted(grants, "A", h));
            subscribed.countDown();
        });
        assertThat(subscribed.await(WAIT.toMillis(), TimeUnit.MILLISECONDS)).isTrue();
        locks.acquire(name, LockOptions.exclusive().timeout(WAIT)).subscribe(h -> granted(grants, "B", h));

        fileThread.open();
        holder.release().block(WAIT);
        FileLockServiceTest.await(() -> grants.size() == 2, "A and B granted");
        assertThat(grants).as("A, subscribed first").containsExactly("A", "B");
    }

    private static void granted(List<String> grants, String who, LockHandle h) {
        grants.add(who);
        h.release().subscribe();
    }
}
