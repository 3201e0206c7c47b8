package dev.reactivelocks.file;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.jspecify.annotations.Nullable;
import org.junit.jupiter.api.Assumptions;

/**
 * A Python virtual environment under {@code target/} with fasteners {@value #VERSION} installed from the
 * package index, made once per test JVM and reused by later builds. Tests that need it are skipped, with
 * the reason printed, only when {@code python3 -m venv} or pip does not work here.
 */
final class FastenersVenv {

    static final String VERSION = "0.20";

    private static final Path DIR = Path.of("target", "python-fasteners-" + VERSION).toAbsolutePath();
    private static @Nullable Path python;
    private static @Nullable String unavailable;

    private FastenersVenv() {
    }

    /** The venv's Python interpreter; skips the calling test when no venv with fasteners can be made. */
    static synchronized Path python() {
        if (python == null && unavailable == null) {
            try {
                python = create();
            } catch (IOException | RuntimeException e) {
                unavailable = e.getMessage();
                System.out.println("[FastenersVenv] skipping the fasteners interop tests: " + unavailable);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                unavailable = "interrupted";
            }
        }
        Assumptions.assumeTrue(python != null, () -> "no Python venv with fasteners " + VERSION + ": " + unavailable);
        return python;
    }

    private static Path create() throws IOException, InterruptedException {
        Path bin = DIR.resolve("bin").resolve("python3");
        String check = "import importlib.metadata as m; assert m.version('fasteners') == '" + VERSION + "'";
        if (Files.isExecutable(bin) && run(List.of(bin.toString(), "-c", check)) == null) {
            return bin;
        }
        String failed = run(List.of("python3", "-m", "venv", "--clear", DIR.toString()));
        if (failed != null) {
            throw new IOException("python3 -m venv failed: " + failed);
        }
        failed = run(List.of(bin.toString(), "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
                "fasteners==" + VERSION));
        if (failed != null) {
            throw new IOException("pip install fasteners==" + VERSION + " failed: " + failed);
        }
        failed = run(List.of(bin.toString(), "-c", check));
        if (failed != null) {
            throw new IOException("fasteners " + VERSION + " not importable after pip install: " + failed);
        }
        System.out.println("[FastenersVenv] installed fasteners " + VERSION + " into " + DIR);
        return bin;
    }

    /** Runs {@code command}; returns null on exit 0, else what it printed (or why it could not start). */
    private static @Nullable String run(List<String> command) throws InterruptedException {
        try {
            Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
            p.getOutputStream().close();
            byte[] out = p.getInputStream().readAllBytes();
            if (!p.waitFor(5, TimeUnit.MINUTES)) {
                p.destroyForcibly();
                return "timed out";
            }
            return p.exitValue() == 0 ? null
                    : "exit " + p.exitValue() + ": " + new String(out, StandardCharsets.UTF_8).strip();
        } catch (IOException e) {
            return e.toString();
        }
    }
}
