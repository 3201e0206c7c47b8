package dev.reactivelocks.file;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.reactivelocks.LockHandle;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import reactor.core.publisher.Mono;
import reactor.test.StepVerifier;

/**
 * Lock names map to lock files exactly as oslo.concurrency's {@code _get_lock_path} maps them (every path
 * separator becomes {@code '_'}); only a mapped name that is no file of the lock directory is refused, with
 * a message naming the reason, before anything touches the file system.
 */
class FileLockNameTest {

    private static final Duration WAIT = Duration.ofSeconds(10);

    /** 252 bytes of 4-byte code points plus 3 ASCII bytes: exactly the 255-byte limit. */
    private static final String LOCKS_255_BYTES = "🔒".repeat(63) + "abc";

    @RegisterExtension
    final FileLockFixture fixture = new FileLockFixture();

    static Stream<Arguments> acceptedNames() {
        return Stream.of(
                Arguments.of("nova-compute_resources", "nova-compute_resources"),
                Arguments.of("a/b", "a_b"),
                Arguments.of("/abs", "_abs"),
                Arguments.of("x/../y", "x_.._y"),
                Arguments.of("../etc/passwd", ".._etc_passwd"),
                Arguments.of("/", "_"),
                Arguments.of("..x", "..x"),
                Arguments.of("a..b", "a..b"),
                Arguments.of("...", "..."),
                Arguments.of(" spaces  in it ", " spaces  in it "),
                Arguments.of("ünïcode/名前 🔒", "ünïcode_名前 🔒"),
                Arguments.of("x".repeat(255), "x".repeat(255)),
                Arguments.of("é".repeat(127) + "x", "é".repeat(127) + "x"),
                Arguments.of(LOCKS_255_BYTES, LOCKS_255_BYTES));
    }

    @ParameterizedTest(name = "[{index}] {1}")
    @MethodSource("acceptedNames")
    void aNameIsTheFileOsloWouldLockDirectlyInTheLockDirectory(String name, String fileName) throws Exception {
        assertThat(fixture.locks().config().lockFile(name)).isEqualTo(fixture.dir().resolve(fileName));
        Assumptions.assumeTrue(fileName.chars().allMatch(c -> c < 128)
                        || "UTF-8".equals(System.getProperty("sun.jnu.encoding")),
                "file names are not UTF-8 in this JVM (sun.jnu.encoding); skipping the on-disk part");
        LockHandle h = fixture.locks().acquire(name).block(WAIT);
        try {
            assertThat(fileName.getBytes(StandardCharsets.UTF_8).length).isLessThanOrEqualTo(255);
            Path file = fixture.dir().resolve(fileName);
            assertThat(file).isRegularFile();
            assertThat(Files.isSymbolicLink(file)).isFalse();
            try (Stream<Path> entries = Files.list(fixture.dir())) {
                assertThat(entries.map(p -> p.getFileName().toString()))
                        .containsExactlyInAnyOrder(fileName, FencingCounter.DIRECTORY);
            }
            try (Stream<Path> entries = Files.list(fixture.tmp())) {
                assertThat(entries).containsExactly(fixture.dir()); // nothing next to the lock directory
            }
            assertThat(fixture.dir().resolve(FencingCounter.DIRECTORY).resolve(fileName))
                    .as("the fencing counter keeps the name: a 255-byte name fits").isRegularFile();
            StepVerifier.create(fixture.locks().tryAcquire(name)).expectComplete().verify(WAIT);
            StepVerifier.create(fixture.locks().tryAcquire(fileName)).as("the mapped name is the same lock")
                    .expectComplete().verify(WAIT);
        } finally {
            h.release().block(WAIT);
        }
        assertThat(Files.size(fixture.dir().resolve(fileName))).as("the lock file is never written").isZero();
    }

    static Stream<Arguments> refusedNames() {
        String tooLong = "which is 256 bytes long in UTF-8; file names are limited to 255 bytes (NAME_MAX)";
        return Stream.of(
                Arguments.of("", "", "which names no file in the lock directory"),
                Arguments.of(".", ".", "which names no file in the lock directory"),
                Arguments.of("..", "..", "which names no file in the lock directory"),
                Arguments.of("a\0b", "a\\0b", "which contains NUL"),
                Arguments.of("x".repeat(256), "x".repeat(256), tooLong),
                Arguments.of("é".repeat(128), "é".repeat(128), tooLong),
                Arguments.of("🔒".repeat(64), "🔒".repeat(64), tooLong),
                Arguments.of("x/" + "y".repeat(254), "x_" + "y".repeat(254), tooLong));
    }

    @ParameterizedTest(name = "[{index}] {2}")
    @MethodSource("refusedNames")
    void aNameThatIsNoFileOfTheLockDirectoryIsRefusedWithItsReason(String name, String shown, String reason) {
        String message = "Lock name '" + name.replace("\0", "\\0")
                + "' maps to the lock file name '" + shown + "', " + reason;
        assertThatThrownBy(() -> fixture.locks().acquire(name)).isInstanceOf(IllegalArgumentException.class)
                .hasMessage(message);
        assertThatThrownBy(() -> fixture.locks().tryAcquire(name)).isInstanceOf(IllegalArgumentException.class)
                .hasMessage(message);
        assertThatThrownBy(() -> fixture.locks().config().lockFile(name)).isInstanceOf(IllegalArgumentException.class)
                .hasMessage(message);
        assertThatThrownBy(() -> FileLockService.removeLockFile(fixture.locks().config(), name))
                .isInstanceOf(IllegalArgumentException.class).hasMessage(message);
        assertThat(fixture.dir()).doesNotExist();
    }

    @Test
    void namesDifferingOnlyInSeparatorsAreOneLockAsInOslo() {
        LockHandle h = fixture.locks().acquire("/x/../y").block(WAIT);
        try {
            for (String alias : List.of("_x/.._y", "_x_.._y", "/x_../y")) {
                StepVerifier.create(fixture.locks().tryAcquire(alias)).as(alias).expectComplete().verify(WAIT);
            }
        } finally {
            h.release().block(WAIT);
        }
    }

    @Test
    void aLockNamedLikeTheFencingDirectoryFailsClearlyWithoutTouchingIt() throws Exception {
        fixture.locks().withLock("warm-up", Mono.just(1)).block(WAIT);
        Path real = fixture.dir().toRealPath();
        StepVerifier.create(fixture.locks().acquire(FencingCounter.DIRECTORY))
                .expectErrorSatisfies(e -> assertThat(e).hasMessageContaining("Cannot lock file '"
                        + real.resolve(FencingCounter.DIRECTORY) + "'"))
                .verify(WAIT);
        assertThat(Files.isDirectory(fixture.dir().resolve(FencingCounter.DIRECTORY), LinkOption.NOFOLLOW_LINKS))
                .isTrue();
    }
}
