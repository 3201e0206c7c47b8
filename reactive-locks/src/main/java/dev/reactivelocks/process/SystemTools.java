package dev.reactivelocks.process;

import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import org.jspecify.annotations.Nullable;

/**
 * The util-linux and procps helpers the executor uses, located once on {@code PATH} (plus the usual system
 * directories). A missing {@code setsid} or {@code kill} degrades tree kill to the descendants the JDK can
 * see; a missing {@code prlimit} makes specs with limits fail.
 */
final class SystemTools {

    private final List<String> searchPath;
    private final @Nullable String setsid;
    private final @Nullable String prlimit;
    private final @Nullable String kill;

    SystemTools(List<String> searchPath, @Nullable String setsid, @Nullable String prlimit, @Nullable String kill) {
        this.searchPath = List.copyOf(searchPath);
        this.setsid = setsid;
        this.prlimit = prlimit;
        this.kill = kill;
    }

    /** Looks the tools up; does file-system calls, so it runs on a blocking-capable thread. */
    static SystemTools locate() {
        Set<String> dirs = new LinkedHashSet<>();
        String path = System.getenv("PATH");
        if (path != null) {
            for (String dir : path.split(File.pathSeparator)) {
                if (!dir.isEmpty()) {
                    dirs.add(dir);
                }
            }
        }
        dirs.addAll(List.of("/usr/bin", "/bin", "/usr/sbin", "/sbin"));
        List<String> search = new ArrayList<>(dirs);
        return new SystemTools(search, find(search, "setsid"), find(search, "prlimit"), find(search, "kill"));
    }

    private static @Nullable String find(List<String> dirs, String name) {
        if (!System.getProperty("os.name", "").toLowerCase().contains("linux")) {
            return null;
        }
        for (String dir : dirs) {
            Path candidate = Paths.get(dir, name);
            if (Files.isRegularFile(candidate) && Files.isExecutable(candidate)) {
                return candidate.toString();
            }
        }
        return null;
    }

    SystemTools withoutPrlimit() {
        return new SystemTools(searchPath, setsid, null, kill);
    }

    SystemTools withoutProcessGroups() {
        return new SystemTools(searchPath, null, prlimit, kill);
    }

    List<String> searchPath() {
        return searchPath;
    }

    @Nullable String setsid() {
        return setsid;
    }

    @Nullable String prlimit() {
        return prlimit;
    }

    @Nullable String kill() {
        return kill;
    }

    /** @return whether children lead their own process group, so that the group can be signalled */
    boolean groupKill() {
        return setsid != null && kill != null;
    }
}
