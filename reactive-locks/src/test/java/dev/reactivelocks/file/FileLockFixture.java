package dev.reactivelocks.file;

import dev.reactivelocks.testkit.contract.SpinRacer;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Objects;
import java.util.stream.Stream;
import org.junit.jupiter.api.extension.AfterEachCallback;
import org.junit.jupiter.api.extension.BeforeEachCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

/**
 * A {@link FileLockService} on a fresh lock directory for each test ({@code @RegisterExtension}), and any
 * more made by {@link #service}; after the test the {@link #racer()} and the {@link #heldBackFileScheduler()}
 * are closed, the services are disposed, every lock file entry of the JVM is awaited closed, and the
 * directory is deleted.
 */
final class FileLockFixture implements BeforeEachCallback, AfterEachCallback {

    static final Duration WAIT = Duration.ofSeconds(20);

    private Path tmp;
    private Path dir;
    private FileLockService locks;
    private final List<FileLockService> services = new ArrayList<>();
    private HeldBackFileScheduler heldBack;
    private SpinRacer racer;

    @Override
    public void beforeEach(ExtensionContext context) throws IOException {
        tmp = Files.createTempDirectory("reactive-locks-test");
        dir = tmp.resolve("locks");
        locks = FileLockService.create(FileLockConfig.builder().lockDirectory(dir).build());
    }

    @Override
    public void afterEach(ExtensionContext context) throws IOException {
        try {
            if (racer != null) {
                racer.close();
                racer = null;
            }
            if (heldBack != null) {
                heldBack.close();
                heldBack = null;
            }
            locks.disposeLater().block(WAIT);
            services.forEach(s -> s.disposeLater().block(WAIT));
            services.clear();
            FileLockServiceTest.await(() -> LockFileRegistry.openEntries() == 0, "all lock file entries closed");
        } finally { // a failed test or a failed check above does not leave the directory behind
            try (Stream<Path> files = Files.walk(tmp)) {
                for (Path p : (Iterable<Path>) files.sorted(Comparator.reverseOrder())::iterator) {
                    Files.deleteIfExists(p);
                }
            }
        }
    }

    /** @return a temporary directory of this test; the lock directory is {@link #dir()} inside it */
    Path tmp() {
        return tmp;
    }

    /** @return the lock directory (not created before the first acquisition) */
    Path dir() {
        return dir;
    }

    /** @return the service on {@link #dir()} */
    FileLockService locks() {
        return locks;
    }

    /** @return a further service on {@link #dir()} with {@code config}'s other settings, disposed after the test */
    FileLockService service(FileLockConfig.Builder config) {
        FileLockService s = FileLockService.create(config.lockDirectory(dir).build());
        services.add(s);
        return s;
    }

    /** @return a file scheduler of one thread the test holds back, the same for the whole test, closed after it */
    HeldBackFileScheduler heldBackFileScheduler() {
        if (heldBack == null) {
            heldBack = new HeldBackFileScheduler();
        }
        return heldBack;
    }

    /** @return a spin-timed racer (its helper thread started now), the same for the whole test, closed after it */
    SpinRacer racer() {
        if (racer == null) {
            racer = new SpinRacer();
        }
        return racer;
    }

    /** Copies the test resource {@code name} (a script next to this class) into {@code dir}, once. */
    static Path script(Path dir, String name) throws IOException {
        Path script = dir.resolve(name);
        if (!Files.exists(script)) {
            try (InputStream in = Objects.requireNonNull(FileLockFixture.class.getResourceAsStream(name), name)) {
                Files.copy(in, script);
            }
        }
        return script;
    }
}
