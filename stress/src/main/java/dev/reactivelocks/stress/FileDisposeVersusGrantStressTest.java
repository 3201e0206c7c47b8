package dev.reactivelocks.stress;

import dev.reactivelocks.LockHandle;
import dev.reactivelocks.LockService;
import dev.reactivelocks.file.FileLockConfig;
import dev.reactivelocks.file.FileLockService;
import dev.reactivelocks.testkit.contract.TempLockDirectory;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicReference;
import org.openjdk.jcstress.annotations.Actor;
import org.openjdk.jcstress.annotations.Arbiter;
import org.openjdk.jcstress.annotations.Expect;
import org.openjdk.jcstress.annotations.JCStressTest;
import org.openjdk.jcstress.annotations.Outcome;
import org.openjdk.jcstress.annotations.State;
import org.openjdk.jcstress.infra.results.II_Result;
import reactor.core.Disposable;

/**
 * The file-lock version of {@link DisposeVersusGrantStressTest}: the grant/cancel window with a
 * subscriber that drops a value arriving after its disposal: the holder releases while the waiter's
 * {@code Disposable} is disposed. r1: the consumer received the grant; r2: the lock is free afterwards
 * (after the arbiter released what the consumer received).
 */
@JCStressTest
@Outcome(id = "1, 1", expect = Expect.ACCEPTABLE, desc = "grant won: the consumer got it, released by the arbiter")
@Outcome(id = "0, 1", expect = Expect.ACCEPTABLE, desc = "dispose won, or the dropped grant was released")
@Outcome(id = "0, 0", expect = Expect.FORBIDDEN, desc = "lock held by nobody (dropped grant leaked)")
@Outcome(id = "1, 0", expect = Expect.FORBIDDEN, desc = "lock still held after its only grant was released")
@State
public class FileDisposeVersusGrantStressTest {

    static final Path DIR =
            Path.of(System.getProperty("java.io.tmpdir"), "reactive-locks-jcstress-" + ProcessHandle.current().pid());

    static {
        // the lock directory of this forked JVM goes with it
        Runtime.getRuntime().addShutdownHook(new Thread(FileDisposeVersusGrantStressTest::deleteDirectory,
                "reactive-locks-jcstress-cleanup"));
    }

    private static void deleteDirectory() {
        try {
            TempLockDirectory.deleteTree(DIR);
        } catch (UncheckedIOException e) {
            // best effort: absent when no test of this class ran, or a file vanished meanwhile
        }
    }

    final LockService locks = FileLockService.create(
            FileLockConfig.builder().lockDirectory(DIR).channelIdleTimeout(Duration.ZERO).build());
    final LockHandle holder = locks.acquire("x").block();
    final AtomicReference<LockHandle> received = new AtomicReference<>();
    final Disposable waiter = locks.acquire("x").subscribe(received::set);

    @Actor
    public void release() {
        holder.release().subscribe();
    }

    @Actor
    public void dispose() {
        waiter.dispose();
    }

    @Arbiter
    public void arbiter(II_Result r) {
        r.r2 = Probe.settlesFree(locks, "x", received);
        r.r1 = received.get() == null ? 0 : 1;
        locks.disposeLater().block();
    }
}
