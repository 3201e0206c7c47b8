package dev.reactivelocks.file;

import static dev.reactivelocks.file.LockFileChecks.nothingHeldByNobody;
import static dev.reactivelocks.file.LockFileChecks.hold;
import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.reactivelocks.LockHandle;
import dev.reactivelocks.LockMode;
import dev.reactivelocks.LockOptions;
import dev.reactivelocks.LockTimeoutException;
import dev.reactivelocks.file.LockFileChecks.Held;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import reactor.core.Disposable;
import reactor.core.scheduler.Schedulers;

/**
 * The path check of a remembered identity waiting in a busy in-JVM queue, subscribed on a non-blocking thread,
 * runs on the file scheduler, which the test holds back: the acquisition is cancelled, times out, or is
 * granted (the holder released, the file replaced or not) before the check runs. The late check changes
 * nothing: one signal, a grant holds the file its path names, nothing held by nobody.
 */
class FileLockHeldBackCheckTest {

    private static final Duration WAIT = FileLockFixture.WAIT;

    @RegisterExtension
    final FileLockFixture fixture = new FileLockFixture();

    private final HeldBackFileScheduler fileThread = fixture.heldBackFileScheduler();

    @BeforeEach
    void needsTheKernelsTable() {
        assumeTrue(Files.isReadable(Path.of("/proc/locks")), "the kernel's lock table is Linux only");
    }

    @Test
    void aCheckRunningAfterTheCancelTimeoutOrGrantChangesNothing() throws Exception {
        FileLockService locks = fixture.service(FileLockConfig.builder().scheduler(fileThread.scheduler())
                .lockFileCheckInterval(Duration.ofHours(1)));
        int i = 0;
        for (String what : new String[] {"cancelled", "timed out", "granted"}) {
            for (boolean stale : new boolean[] {false, true}) {
                for (LockMode mode : LockMode.values()) {
                    String name = "held-back" + i++;
                    String as = what + (stale ? ", stale" : "") + ", " + mode;
                    Path file = fixture.dir().resolve(name);
                    Held held = hold(locks, name, file, stale); // the identity is remembered
                    LockHandle holder = held.holder();
                    String oldId = held.oldId();
                    String newId = held.newId();

                    fileThread.gate();

                    CompletableFuture<Object> out = new CompletableFuture<>();
                    CompletableFuture<Disposable> subscription = new CompletableFuture<>();
                    Duration timeout = what.equals("timed out") ? Duration.ofMillis(50) : WAIT;
                    Schedulers.parallel().schedule(() -> subscription.complete(
                            locks.acquire(name, LockOptions.of(mode).timeout(timeout))
                                    .subscribe(out::complete, out::complete, () -> out.complete("empty"))));
                    Disposable d = subscription.get(WAIT.toMillis(), TimeUnit.MILLISECONDS);
                    switch (what) {
                        case "cancelled" -> d.dispose();
                        case "timed out" -> assertThat(out.get(WAIT.toMillis(), TimeUnit.MILLISECONDS))
                                .as(as).isInstanceOf(LockTimeoutException.class);
                        default -> holder.release().block(WAIT);
                    }
                    if (what.equals("granted") && !stale) {
                        // the grant of a current identity needs no scheduler: the channel is open
                        assertThat(out.get(WAIT.toMillis(), TimeUnit.MILLISECONDS)).as(as)
                                .isInstanceOf(LockHandle.class);
                    }
                    fileThread.open(); // the check runs now, late
                    holder.release().block(WAIT);
                    if (what.equals("granted")) {
                        Object o = out.get(WAIT.toMillis(), TimeUnit.MILLISECONDS);
                        assertThat(o).as(as).isInstanceOf(LockHandle.class);
                        LockHandle h = (LockHandle) o;
                        assertThat(h.isHeld()).as(as).isTrue();
                        assertThat(LockFileRegistryTest.lockedByThisProcess(file)).as(as + ": the file its path names")
                                .isTrue();
                        h.release().block(WAIT);
                    } else if (what.equals("cancelled")) {
                        Thread.sleep(20);
                        assertThat(out).as(as + ": nothing after a cancel").isNotDone();
                    }
                    assertThat(nothingHeldByNobody(oldId, newId))
                            .as(as + ": nothing held by nobody").isTrue();
                }
            }
        }
    }
}
