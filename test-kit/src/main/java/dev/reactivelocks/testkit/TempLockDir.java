package dev.reactivelocks.testkit;

import java.lang.annotation.Documented;
import java.lang.annotation.ElementType;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Injects a fresh temporary lock directory ({@link java.nio.file.Path}) into an instance field or a
 * parameter of a test, {@code @BeforeEach} or {@code @AfterEach} method, like oslo.concurrency's
 * {@code ExternalLockFixture}. No registration is needed: the annotation brings its extension.
 *
 * <pre>{@code
 * class OrderJobTest {
 *     @TempLockDir(exportProperty = true)
 *     Path lockDir;                              // also in System property reactivelocks.lock-dir
 *
 *     @Test
 *     void runsAlone(@TempLockDir Path sameDir) { ... }   // sameDir.equals(lockDir)
 * }
 * }</pre>
 *
 * <ul>
 *   <li><b>One directory per test</b>: every {@code @TempLockDir} field and parameter of one test (including
 *       its {@code @BeforeEach}/{@code @AfterEach} methods) receives the same directory; the next test
 *       receives a new one.</li>
 *   <li><b>Private</b>: created under {@code java.io.tmpdir} with permissions {@code rwx------} (0700) on
 *       POSIX file systems.</li>
 *   <li><b>Removed afterwards</b>: after the {@code @AfterEach} methods, even when the test failed. Only the
 *       directory and what is inside it are deleted; symbolic links are deleted, never followed. A
 *       directory that cannot be deleted fails the test.</li>
 *   <li><b>Exported on request</b>: with {@link #exportProperty()}, the System property
 *       {@value #LOCK_DIR_PROPERTY}, which the file lock configuration reads, names the directory for the
 *       duration of the test and is restored afterwards. System properties are global: tests that export it
 *       must not run in parallel with each other (annotate them
 *       {@code @ResourceLock(Resources.SYSTEM_PROPERTIES)}).</li>
 * </ul>
 *
 * <p>Static fields and constructor parameters are not supported (the directory belongs to one test) and fail
 * the test with an {@link org.junit.jupiter.api.extension.ExtensionConfigurationException} or
 * {@link org.junit.jupiter.api.extension.ParameterResolutionException}; so does a type other than
 * {@code Path}.
 */
@Documented
@Retention(RetentionPolicy.RUNTIME)
@Target({ElementType.FIELD, ElementType.PARAMETER})
@ExtendWith(TempLockDirExtension.class)
public @interface TempLockDir {

    /** The System property that names the default lock directory of file locks. */
    String LOCK_DIR_PROPERTY = "reactivelocks.lock-dir";

    /**
     * Whether to set the System property {@value #LOCK_DIR_PROPERTY} to the directory for the duration of
     * the test. It is set when the first injection point that asks for it is injected. Defaults to
     * {@code false}.
     *
     * @return {@code true} to export the directory
     */
    boolean exportProperty() default false;
}
