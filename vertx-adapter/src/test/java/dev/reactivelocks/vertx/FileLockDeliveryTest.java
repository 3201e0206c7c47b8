package dev.reactivelocks.vertx;

import static org.assertj.core.api.Assertions.assertThat;

import dev.reactivelocks.LockHandle;
import dev.reactivelocks.LockOptions;
import dev.reactivelocks.LockService;
import dev.reactivelocks.file.FileLockConfig;
import dev.reactivelocks.file.FileLockService;
import dev.reactivelocks.testkit.contract.FileLockChildMain;
import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.ThreadingModel;
import io.vertx.core.Vertx;
import io.vertx.junit5.VertxExtension;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.OutputStreamWriter;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;
import reactor.core.publisher.Mono;

/**
 * File locks through the adapter: the grant comes from another process releasing the lock file, is made on the
 * file-lock service's bounded scheduler (BlockHound, with the core's FileChannel markers, proves the file calls
 * never run on the event loop that asked), and is delivered on the waiting verticle's event loop.
 */
@ExtendWith(VertxExtension.class)
class FileLockDeliveryTest {

    /** Where a completion ran, and the handle it got. */
    record Seen(Thread thread, Context context, VertxLockHandle handle) {
    }

    @Test
    void lostOfADowngradedHandleReportsTheLossOfTheSharedGrant(Vertx vertx, @TempDir Path lockDir) throws Exception {
        FileLockService files = FileLockService.create(FileLockConfig.builder().lockDirectory(lockDir)
                .lockFileCheckInterval(java.time.Duration.ofMillis(20)).build());
        try {
            VertxLockService locks = VertxLockService.create(vertx, files);
            VertxLockHandle exclusive = locks.acquire("orders").await(10, TimeUnit.SECONDS);
            VertxLockHandle shared = exclusive.downgrade().await(10, TimeUnit.SECONDS);
            Future<Void> lostOfTheDowngraded = exclusive.lost(); // asked after the downgrade
            Future<Void> lostOfTheShared = shared.lost();
            assertThat(lostOfTheDowngraded.isComplete()).isFalse();

            java.nio.file.Files.delete(lockDir.resolve("orders")); // another process deletes the lock file

            lostOfTheShared.await(20, TimeUnit.SECONDS);
            lostOfTheDowngraded.await(20, TimeUnit.SECONDS);
            assertThat(shared.isHeld()).isFalse();
        } finally {
            files.disposeLater().block(java.time.Duration.ofSeconds(10));
        }
    }

    @Test
    void grantMadeWhenAnotherProcessReleasesTheFileLockCompletesOnTheWaitingVerticlesEventLoop(
            Vertx vertx, @TempDir Path lockDir) throws Exception {
        Process other = new ProcessBuilder(List.of(
                Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-Xshare:auto",
                "-XX:TieredStopAtLevel=1", "-cp", System.getProperty("java.class.path"),
                FileLockChildMain.class.getName(), "hold", lockDir.toString(), "orders", "EXCLUSIVE"))
                .redirectError(ProcessBuilder.Redirect.DISCARD)
                .start();
        FileLockService files = FileLockService.create(FileLockConfig.builder().lockDirectory(lockDir).build());
        try (BufferedReader out = new BufferedReader(new InputStreamReader(other.getInputStream(), StandardCharsets.UTF_8));
             Writer in = new OutputStreamWriter(other.getOutputStream(), StandardCharsets.UTF_8)) {
            assertThat(out.readLine()).startsWith("LOCKED ");   // bounded by the default test timeout
            AtomicReference<Thread> grantedOn = new AtomicReference<>();
            VertxLockService locks = VertxLockService.create(vertx, new GrantThreadRecorder(files, grantedOn));
            TestVerticles.Deployed waiter = TestVerticles.deploy(vertx, ThreadingModel.EVENT_LOOP);

            Future<Seen> seen = waiter.on(() -> locks.acquire("orders")
                    .map(h -> new Seen(Thread.currentThread(), Vertx.currentContext(), h)));
            assertThat(locks.tryAcquire("orders").await(10, TimeUnit.SECONDS)).isNull();   // the other process holds it
            assertThat(seen.isComplete()).isFalse();

            in.write("release\n");
            in.flush();
            assertThat(out.readLine()).isEqualTo("RELEASED");

            Seen grant = seen.await(20, TimeUnit.SECONDS);
            assertThat(grant.thread()).isSameAs(waiter.startThread());
            assertThat(grant.context()).isSameAs(waiter.context());
            assertThat(grant.handle().isHeld()).isTrue();
            assertThat(grantedOn.get()).isNotSameAs(waiter.startThread());
            assertThat(grantedOn.get().getName()).startsWith("reactive-locks-file");   // the bounded file-lock scheduler
            grant.handle().release().await(10, TimeUnit.SECONDS);
            assertThat(other.waitFor(20, TimeUnit.SECONDS)).isTrue();
            assertThat(other.exitValue()).isZero();
        } finally {
            other.destroyForcibly();
            files.disposeLater().block(java.time.Duration.ofSeconds(10));
        }
    }

    /** Records the thread on which the wrapped service signals each grant. */
    private record GrantThreadRecorder(LockService delegate, AtomicReference<Thread> grantedOn) implements LockService {

        @Override
        public Mono<LockHandle> acquire(String name, LockOptions options) {
            return delegate.acquire(name, options).doOnNext(h -> grantedOn.set(Thread.currentThread()));
        }

        @Override
        public Mono<LockHandle> tryAcquire(String name, LockOptions options) {
            return delegate.tryAcquire(name, options);
        }

        @Override
        public Mono<Void> disposeLater() {
            return delegate.disposeLater();
        }
    }
}
