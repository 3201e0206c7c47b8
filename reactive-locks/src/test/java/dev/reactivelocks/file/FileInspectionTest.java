package dev.reactivelocks.file;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.reactivelocks.LockHandle;
import dev.reactivelocks.LockInfo;
import dev.reactivelocks.LockMode;
import dev.reactivelocks.LockOptions;
import dev.reactivelocks.internal.Owners;
import dev.reactivelocks.testkit.contract.FileLockChildMain;
import dev.reactivelocks.testkit.contract.InspectionContract;
import dev.reactivelocks.testkit.contract.TempLockDirectory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.function.Predicate;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** Who holds a lock file: other processes read from the kernel's table of locks, this JVM from its queues. */
class FileInspectionTest {

    private static final Duration WAIT = Duration.ofSeconds(20);

    private final TempLockDirectory directory = new TempLockDirectory("file-inspection");
    private final FileLockService locks = directory.newService();
    private final Path dir = locks.config().lockDirectory().orElseThrow();

    @AfterEach
    void disposeAndDelete() {
        locks.disposeLater().block(WAIT);
        FileLockServiceTest.await(() -> LockFileRegistry.openEntries() == 0, "all lock file entries closed");
        directory.delete();
    }

    @Test
    void theKernelTableIsParsedForRecordLocksOnly() {
        List<FileInspection.KernelLock> parsed = FileInspection.parse(List.of(
                "1: POSIX  ADVISORY  WRITE 3789 fe:00:1474578 0 EOF",
                "1: -> POSIX  ADVISORY  READ 3790 fe:00:1474578 0 EOF",
                "2: OFDLCK ADVISORY  READ  -1 103:0a:12 0 EOF",
                "3: FLOCK  ADVISORY  WRITE 9798 fe:00:2154498 0 EOF",
                "4: LEASE  ACTIVE    READ  1 fe:00:1 0 EOF",
                "garbage"));
        assertThat(parsed).containsExactly(
                new FileInspection.KernelLock(0xfe, 0, 1474578, true, 3789, false),
                new FileInspection.KernelLock(0xfe, 0, 1474578, false, 3790, true),
                new FileInspection.KernelLock(0x103, 0x0a, 12, false, -1, false));
    }

    private ChildProcess holder(String name, LockMode mode) throws Exception {
        ChildProcess child = ChildProcess.java(FileLockChildMain.class, "hold", dir.toString(), name, mode.name());
        assertThat(child.nextLine(WAIT)).startsWith("LOCKED ");
        return child;
    }

    private LockInfo inspectUntil(String name, Predicate<LockInfo> condition) {
        return InspectionContract.inspectUntil(locks, name, condition, "the state awaited");
    }

    @Test
    void anotherProcessIsReportedByItsPidNextToThisJvmsHolders() throws Exception {
        assumeTrue(Files.isReadable(Path.of("/proc/locks")), "the kernel's lock table is Linux only");
        try (ChildProcess child = holder("shared", LockMode.SHARED)) {
            LockInfo theirs = locks.inspect("shared").block(WAIT);
            assertThat(theirs.mode()).isEqualTo(LockMode.SHARED);
            assertThat(theirs.holders()).isEqualTo(1);
            assertThat(theirs.owners()).containsExactly(Owners.ofProcess(child.pid()));
            assertThat(theirs.fencingToken()).as("the other process's token is not known here").isEmpty();
            assertThat(theirs.heldSince()).isEmpty();

            LockHandle mine = locks.acquire("shared", LockOptions.shared()).block(WAIT);
            LockInfo both = locks.inspect("shared").block(WAIT);
            assertThat(both.holders()).isEqualTo(2);
            assertThat(both.owners()).containsExactlyInAnyOrder(Owners.thisProcess(), Owners.ofProcess(child.pid()));
            assertThat(both.fencingToken()).hasValue(mine.fencingToken());
            assertThat(both.heldSince()).isPresent();

            child.send("release");
            assertThat(child.nextLine(WAIT)).isEqualTo("RELEASED");
            LockInfo ours = inspectUntil("shared", i -> i.holders() == 1);
            assertThat(ours.owners()).containsExactly(Owners.thisProcess());
            mine.release().block(WAIT);
        }
        assertThat(locks.inspect("shared").blockOptional(WAIT)).isEmpty();
    }

    /**
     * The second acquisition subscribes once the first is queued: each looks the file up on the file
     * scheduler before it queues, so two subscribed at once may queue in either order.
     */
    @Test
    void thisJvmsAcquisitionsWaitingForAnotherProcessCountAsWaiting() throws Exception {
        assumeTrue(Files.isReadable(Path.of("/proc/locks")), "the kernel's lock table is Linux only");
        try (ChildProcess child = holder("busy", LockMode.EXCLUSIVE)) {
            CompletableFuture<LockHandle> first = locks.acquire("busy").toFuture();
            inspectUntil("busy", i -> i.waiting().orElse(0) == 1);
            CompletableFuture<LockHandle> second = locks.acquire("busy", LockOptions.shared()).toFuture();
            LockInfo info = inspectUntil("busy", i -> i.waiting().orElse(0) == 2);
            assertThat(info.mode()).isEqualTo(LockMode.EXCLUSIVE);
            assertThat(info.owners()).containsExactly(Owners.ofProcess(child.pid()));
            assertThat(locks.locks("bu").collectList().block(WAIT)).extracting(LockInfo::name).containsExactly("busy");
            assertThat(locks.locks("x").collectList().block(WAIT)).isEmpty();

            child.send("release");
            LockHandle h = first.get(WAIT.toMillis(), java.util.concurrent.TimeUnit.MILLISECONDS);
            LockInfo mine = inspectUntil("busy", i -> i.owners().equals(List.of(Owners.thisProcess())));
            assertThat(mine.fencingToken()).hasValue(h.fencingToken());
            assertThat(mine.waiting()).hasValue(1);
            h.release().block(WAIT);
            second.get(WAIT.toMillis(), java.util.concurrent.TimeUnit.MILLISECONDS).release().block(WAIT);
        }
    }
}
