package dev.reactivelocks.testkit;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.reflect.Constructor;
import java.lang.reflect.Field;
import java.lang.reflect.Modifier;
import java.nio.file.FileSystems;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.EnumSet;
import java.util.Set;
import org.jspecify.annotations.Nullable;
import org.junit.jupiter.api.extension.AfterEachCallback;
import org.junit.jupiter.api.extension.BeforeEachCallback;
import org.junit.jupiter.api.extension.ExtensionConfigurationException;
import org.junit.jupiter.api.extension.ExtensionContext;
import org.junit.jupiter.api.extension.ParameterContext;
import org.junit.jupiter.api.extension.ParameterResolutionException;
import org.junit.jupiter.api.extension.ParameterResolver;
import org.junit.platform.commons.support.AnnotationSupport;
import org.junit.platform.commons.support.HierarchyTraversalMode;

/**
 * The extension behind {@link TempLockDir}: creates the test's directory on first use (field injection
 * before each test, or parameter resolution), keeps it in the test's {@link ExtensionContext.Store}, and
 * deletes it after each test.
 */
final class TempLockDirExtension implements BeforeEachCallback, ParameterResolver, AfterEachCallback {

    private static final ExtensionContext.Namespace NAMESPACE =
            ExtensionContext.Namespace.create(TempLockDirExtension.class);
    private static final String KEY = "lockDir";
    private static final Set<PosixFilePermission> OWNER_ONLY = PosixFilePermissions.fromString("rwx------");

    @Override
    public void beforeEach(ExtensionContext context) {
        for (Object instance : context.getRequiredTestInstances().getAllInstances()) {
            for (Field field : AnnotationSupport.findAnnotatedFields(instance.getClass(), TempLockDir.class,
                    f -> true, HierarchyTraversalMode.TOP_DOWN)) {
                inject(context, instance, field);
            }
        }
    }

    private static void inject(ExtensionContext context, Object instance, Field field) {
        if (Modifier.isStatic(field.getModifiers())) {
            throw new ExtensionConfigurationException("@TempLockDir field '" + field.getName() + "' of "
                    + field.getDeclaringClass().getName() + " must not be static: the directory belongs to one test");
        }
        if (field.getType() != Path.class) {
            throw new ExtensionConfigurationException("@TempLockDir field '" + field.getName() + "' of "
                    + field.getDeclaringClass().getName() + " must be of type java.nio.file.Path, was "
                    + field.getType().getName());
        }
        TempLockDir annotation = field.getAnnotation(TempLockDir.class);
        Path dir = directory(context, annotation.exportProperty());
        try {
            field.setAccessible(true);
            field.set(instance, dir);
        } catch (ReflectiveOperationException | RuntimeException e) {
            throw new ExtensionConfigurationException("Cannot inject @TempLockDir into field '" + field.getName()
                    + "' of " + field.getDeclaringClass().getName(), e);
        }
    }

    @Override
    public boolean supportsParameter(ParameterContext parameterContext, ExtensionContext extensionContext) {
        if (!parameterContext.isAnnotated(TempLockDir.class)) {
            return false;
        }
        if (parameterContext.getDeclaringExecutable() instanceof Constructor) {
            throw new ParameterResolutionException("@TempLockDir is not supported on constructor parameters ("
                    + parameterContext.getParameter() + "): the directory belongs to one test");
        }
        if (parameterContext.getParameter().getType() != Path.class) {
            throw new ParameterResolutionException("@TempLockDir parameter '" + parameterContext.getParameter()
                    + "' must be of type java.nio.file.Path, was "
                    + parameterContext.getParameter().getType().getName());
        }
        return true;
    }

    @Override
    public Object resolveParameter(ParameterContext parameterContext, ExtensionContext extensionContext) {
        TempLockDir annotation = parameterContext.findAnnotation(TempLockDir.class)
                .orElseThrow(() -> new ParameterResolutionException("no @TempLockDir on " + parameterContext));
        return directory(extensionContext, annotation.exportProperty());
    }

    @Override
    public void afterEach(ExtensionContext context) throws IOException {
        LockDir dir = context.getStore(NAMESPACE).remove(KEY, LockDir.class);
        if (dir != null) {
            dir.close();
        }
    }

    /** The test's directory, created on first use; exports it when {@code export} is asked for. */
    private static Path directory(ExtensionContext context, boolean export) {
        if (context.getTestMethod().isEmpty()) {
            throw new ExtensionConfigurationException("@TempLockDir is supported only on instance fields and on "
                    + "parameters of test, @BeforeEach and @AfterEach methods, not in " + context.getDisplayName());
        }
        LockDir dir = context.getStore(NAMESPACE).getOrComputeIfAbsent(KEY, k -> LockDir.create(), LockDir.class);
        if (export) {
            dir.export();
        }
        return dir.path;
    }

    /** One test's directory, and the System property value it replaced when exported. */
    static final class LockDir {

        final Path path;
        private boolean exported;
        private @Nullable String previous;

        private LockDir(Path path) {
            this.path = path;
        }

        static LockDir create() {
            try {
                boolean posix = FileSystems.getDefault().supportedFileAttributeViews().contains("posix");
                Path dir = posix
                        ? Files.createTempDirectory("reactivelocks-", PosixFilePermissions.asFileAttribute(OWNER_ONLY))
                        : Files.createTempDirectory("reactivelocks-");
                if (posix) {
                    Files.setPosixFilePermissions(dir, OWNER_ONLY); // not narrowed by the umask
                }
                return new LockDir(dir);
            } catch (IOException e) {
                throw new UncheckedIOException("Cannot create a temporary lock directory", e);
            }
        }

        synchronized void export() {
            if (!exported) {
                previous = System.getProperty(TempLockDir.LOCK_DIR_PROPERTY);
                System.setProperty(TempLockDir.LOCK_DIR_PROPERTY, path.toString());
                exported = true;
            }
        }

        synchronized void close() throws IOException {
            if (exported) {
                if (previous == null) {
                    System.clearProperty(TempLockDir.LOCK_DIR_PROPERTY);
                } else {
                    System.setProperty(TempLockDir.LOCK_DIR_PROPERTY, previous);
                }
                exported = false;
            }
            deleteTree(path);
        }

        /** Deletes {@code root} and everything below it; links are deleted, never followed. */
        private static void deleteTree(Path root) throws IOException {
            if (!Files.exists(root, LinkOption.NOFOLLOW_LINKS)) {
                return;
            }
            Files.walkFileTree(root, new SimpleFileVisitor<>() {
                @Override
                public FileVisitResult preVisitDirectory(Path dir, BasicFileAttributes attrs) throws IOException {
                    if (!Files.isWritable(dir) || !Files.isExecutable(dir)) {
                        makeOwnerAccessible(dir); // a test may have made it read-only
                    }
                    return FileVisitResult.CONTINUE;
                }

                @Override
                public FileVisitResult visitFile(Path file, BasicFileAttributes attrs) throws IOException {
                    Files.delete(file);
                    return FileVisitResult.CONTINUE;
                }

                @Override
                public FileVisitResult postVisitDirectory(Path dir, @Nullable IOException failure) throws IOException {
                    if (failure != null) {
                        throw failure;
                    }
                    Files.delete(dir);
                    return FileVisitResult.CONTINUE;
                }
            });
        }

        private static void makeOwnerAccessible(Path dir) throws IOException {
            if (FileSystems.getDefault().supportedFileAttributeViews().contains("posix")) {
                Set<PosixFilePermission> perms = EnumSet.noneOf(PosixFilePermission.class);
                perms.addAll(Files.getPosixFilePermissions(dir, LinkOption.NOFOLLOW_LINKS));
                perms.addAll(OWNER_ONLY);
                Files.setPosixFilePermissions(dir, perms);
            }
        }
    }
}
