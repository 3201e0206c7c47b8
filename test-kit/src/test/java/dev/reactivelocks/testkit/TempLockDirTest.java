package dev.reactivelocks.testkit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.platform.testkit.engine.EventConditions.event;
import static org.junit.platform.testkit.engine.EventConditions.finishedWithFailure;
import static org.junit.platform.testkit.engine.EventConditions.test;
import static org.junit.platform.testkit.engine.TestExecutionResultConditions.instanceOf;
import static org.junit.platform.testkit.engine.TestExecutionResultConditions.message;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtensionConfigurationException;
import org.junit.jupiter.api.extension.ParameterResolutionException;
import org.junit.platform.testkit.engine.Events;

/**
 * Runs small test classes (the nested {@code *Case} classes, which Surefire does not run by itself) through
 * the Jupiter engine and checks, from outside, what {@link TempLockDir} did before, during and after them.
 */
class TempLockDirTest {

    /** What the cases saw while they ran, in order. */
    static final List<Observation> SEEN = new CopyOnWriteArrayList<>();

    record Observation(String where, Path dir, boolean isDirectory, String permissions, String property) {

        static Observation of(String where, Path dir) throws IOException {
            return new Observation(where, dir, Files.isDirectory(dir, LinkOption.NOFOLLOW_LINKS),
                    PosixFilePermissions.toString(Files.getPosixFilePermissions(dir)),
                    System.getProperty(TempLockDir.LOCK_DIR_PROPERTY, "<unset>"));
        }
    }

    @BeforeEach
    void clear() {
        SEEN.clear();
        System.clearProperty(TempLockDir.LOCK_DIR_PROPERTY);
    }

    @AfterEach
    void restore() {
        System.clearProperty(TempLockDir.LOCK_DIR_PROPERTY);
    }

    private static Events run(Class<?> testClass) {
        return CaseRunner.run(testClass);
    }

    // ---- cases -------------------------------------------------------------------------------------

    @EngineTestKitCase
    static class FieldAndParameterCase {

        @TempLockDir
        Path field;

        @BeforeEach
        void before(@TempLockDir Path dir) throws IOException {
            SEEN.add(Observation.of("before", dir));
        }

        @Test
        void first(@TempLockDir Path parameter) throws IOException {
            SEEN.add(Observation.of("field", field));
            SEEN.add(Observation.of("parameter", parameter));
            Files.writeString(field.resolve("orders.lock"), "");
            Files.createDirectories(field.resolve("nested/deeper"));
        }

        @Test
        void second() throws IOException {
            SEEN.add(Observation.of("field", field));
        }

        @AfterEach
        void after(@TempLockDir Path dir) throws IOException {
            SEEN.add(Observation.of("after", dir));
        }
    }

    @EngineTestKitCase
    static class ExportCase {

        @TempLockDir(exportProperty = true)
        Path exported;

        @Test
        void exports() throws IOException {
            SEEN.add(Observation.of("exported", exported));
        }
    }

    @EngineTestKitCase
    static class NoExportCase {

        @Test
        void doesNotExport(@TempLockDir Path dir) throws IOException {
            SEEN.add(Observation.of("not exported", dir));
        }
    }

    @EngineTestKitCase
    static class FailingCase {

        @TempLockDir
        Path dir;

        @Test
        void fails() throws IOException {
            SEEN.add(Observation.of("failing", dir));
            Files.writeString(dir.resolve("left-behind.lock"), "x");
            throw new AssertionError("the test failed");
        }
    }

    @EngineTestKitCase
    static class HostileCase {

        static Path outside;

        @Test
        void linksOutsideAndLocksItself(@TempLockDir Path dir) throws IOException {
            SEEN.add(Observation.of("hostile", dir));
            Files.createSymbolicLink(dir.resolve("link-to-outside"), outside);
            Path readOnly = Files.createDirectories(dir.resolve("read-only"));
            Files.writeString(readOnly.resolve("inside.lock"), "");
            Files.setPosixFilePermissions(readOnly, PosixFilePermissions.fromString("r-x------"));
        }
    }

    @EngineTestKitCase
    static class StaticFieldCase {

        @TempLockDir
        static Path shared;

        @Test
        void neverRuns() {
        }
    }

    @EngineTestKitCase
    static class WrongTypeCase {

        @Test
        void neverRuns(@TempLockDir String dir) {
        }
    }

    // ---- tests -------------------------------------------------------------------------------------

    @Test
    void directoryExistsWithOwnerOnlyPermissionsDuringTheTestAndIsGoneAfterwards() {
        run(FieldAndParameterCase.class).assertStatistics(s -> s.started(2).succeeded(2).failed(0));

        Map<Path, List<String>> byDir = new LinkedHashMap<>();
        SEEN.forEach(o -> byDir.computeIfAbsent(o.dir(), d -> new ArrayList<>()).add(o.where()));
        assertThat(byDir.values()).as("one directory per test, shared by its fields and parameters")
                .containsExactlyInAnyOrder(List.of("before", "field", "parameter", "after"),
                        List.of("before", "field", "after"));
        List<Path> dirs = new ArrayList<>(byDir.keySet());
        Path first = dirs.get(0);
        Path second = dirs.get(1);
        assertThat(SEEN).allSatisfy(o -> {
            assertThat(o.isDirectory()).isTrue();
            assertThat(o.permissions()).isEqualTo("rwx------");
        });
        assertThat(first.getParent()).isEqualTo(Path.of(System.getProperty("java.io.tmpdir")));
        assertThat(first).as("removed with its lock file and subdirectories").doesNotExist();
        assertThat(second).doesNotExist();
    }

    @Test
    void exportedPropertyNamesTheDirectoryDuringTheTestAndIsRestoredAfterwards() {
        System.setProperty(TempLockDir.LOCK_DIR_PROPERTY, "/previous/value");
        run(ExportCase.class).assertStatistics(s -> s.succeeded(1).failed(0));
        assertThat(SEEN).singleElement().satisfies(o -> assertThat(o.property()).isEqualTo(o.dir().toString()));
        assertThat(System.getProperty(TempLockDir.LOCK_DIR_PROPERTY)).isEqualTo("/previous/value");

        SEEN.clear();
        System.clearProperty(TempLockDir.LOCK_DIR_PROPERTY);
        run(ExportCase.class).assertStatistics(s -> s.succeeded(1).failed(0));
        assertThat(SEEN).singleElement().satisfies(o -> assertThat(o.property()).isEqualTo(o.dir().toString()));
        assertThat(System.getProperty(TempLockDir.LOCK_DIR_PROPERTY)).as("cleared again").isNull();
    }

    @Test
    void propertyIsNotExportedUnlessAskedFor() {
        run(NoExportCase.class).assertStatistics(s -> s.succeeded(1).failed(0));
        assertThat(SEEN).singleElement().satisfies(o -> assertThat(o.property()).isEqualTo("<unset>"));
    }

    @Test
    void directoryIsRemovedWhenTheTestFails() {
        run(FailingCase.class).assertThatEvents()
                .haveExactly(1, event(test("fails"), finishedWithFailure(message("the test failed"))));
        assertThat(SEEN).singleElement().satisfies(o -> assertThat(o.dir()).doesNotExist());
    }

    @Test
    void cleanupDeletesLinksWithoutFollowingThemAndCopesWithReadOnlySubdirectories(@org.junit.jupiter.api.io.TempDir
                                                                                       Path elsewhere)
            throws IOException {
        Path outside = Files.writeString(elsewhere.resolve("precious.txt"), "keep me");
        HostileCase.outside = outside;
        run(HostileCase.class).assertStatistics(s -> s.succeeded(1).failed(0));
        assertThat(SEEN).singleElement().satisfies(o -> assertThat(o.dir()).doesNotExist());
        assertThat(outside).as("only what the extension created is removed").hasContent("keep me");
    }

    @Test
    void staticFieldsAndOtherTypesAreRejectedWithAClearMessage() {
        run(StaticFieldCase.class).assertThatEvents().haveExactly(1, event(test("neverRuns"), finishedWithFailure(
                instanceOf(ExtensionConfigurationException.class),
                message("@TempLockDir field 'shared' of " + StaticFieldCase.class.getName()
                        + " must not be static: the directory belongs to one test"))));
        run(WrongTypeCase.class).assertThatEvents().haveExactly(1, event(test("neverRuns"), finishedWithFailure(
                instanceOf(ParameterResolutionException.class),
                message(m -> m.contains("must be of type java.nio.file.Path, was java.lang.String")))));
    }
}
