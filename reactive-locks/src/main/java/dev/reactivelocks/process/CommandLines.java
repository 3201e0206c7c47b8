package dev.reactivelocks.process;

import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.jspecify.annotations.Nullable;

/** Splitting of helper command lines and assembly of the argument vector actually spawned. */
final class CommandLines {

    private CommandLines() {
    }

    /**
     * Splits {@code line} into words as a POSIX shell would without expansions: blanks separate words,
     * single quotes keep everything literally, double quotes keep everything but backslash escapes of
     * {@code \ " $ `}, and an unquoted backslash escapes the next character.
     */
    static List<String> split(String line) {
        List<String> words = new ArrayList<>();
        StringBuilder word = new StringBuilder();
        boolean inWord = false;
        int i = 0;
        int n = line.length();
        while (i < n) {
            char c = line.charAt(i);
            if (c == '\'') {
                int end = line.indexOf('\'', i + 1);
                if (end < 0) {
                    throw new IllegalArgumentException("unterminated single quote in '" + line + "'");
                }
                word.append(line, i + 1, end);
                inWord = true;
                i = end + 1;
            } else if (c == '"') {
                i++;
                while (true) {
                    if (i >= n) {
                        throw new IllegalArgumentException("unterminated double quote in '" + line + "'");
                    }
                    char d = line.charAt(i);
                    if (d == '"') {
                        break;
                    }
                    if (d == '\\' && i + 1 < n && "\\\"$`".indexOf(line.charAt(i + 1)) >= 0) {
                        word.append(line.charAt(i + 1));
                        i += 2;
                    } else {
                        word.append(d);
                        i++;
                    }
                }
                inWord = true;
                i++;
            } else if (c == '\\' && i + 1 < n) {
                word.append(line.charAt(i + 1));
                inWord = true;
                i += 2;
            } else if (Character.isWhitespace(c)) {
                if (inWord) {
                    words.add(word.toString());
                    word.setLength(0);
                    inWord = false;
                }
                i++;
            } else {
                word.append(c);
                inWord = true;
                i++;
            }
        }
        if (inWord) {
            words.add(word.toString());
        }
        return words;
    }

    /**
     * The argument vector to spawn, outermost wrapper first:
     * {@code setsid -w --} (own session and process group; {@code --} so that a program whose name starts
     * with {@code -} is not taken for a {@code setsid} option), root helper, {@code prlimit <limits> --},
     * {@code /bin/sh -c}, then the command. The order matches oslo, where the root helper runs the
     * {@code prlimit} wrapper, and keeps the group around everything the helper starts.
     */
    static List<String> argv(ProcessSpec spec, SystemTools tools) {
        List<String> argv = new ArrayList<>();
        if (tools.setsid() != null) {
            argv.add(tools.setsid());
            argv.add("-w");
            argv.add("--");
        }
        List<String> helper = spec.rootHelper();
        if (helper != null) {
            argv.addAll(helper);
        }
        if (!spec.limits().isEmpty()) {
            String prlimit = tools.prlimit();
            if (prlimit == null) {
                throw new IllegalStateException("ProcessLimits " + spec.limits() + " need util-linux 'prlimit', "
                        + "which was not found on PATH " + tools.searchPath());
            }
            argv.add(prlimit);
            argv.addAll(spec.limits().prlimitOptions());
            argv.add("--");
        }
        if (spec.shell()) {
            argv.add("/bin/sh");
            argv.add("-c");
        }
        argv.addAll(spec.argv());
        return argv;
    }

    /**
     * @param argv an argument vector of {@link #argv} that starts with the {@code setsid -w --} wrapper
     * @return the program that {@code setsid} runs: the root helper, {@code prlimit}, the shell or the command
     */
    static String behindSetsid(List<String> argv) {
        return argv.get(3);
    }

    /**
     * Fails like {@code ProcessBuilder.start} would, naming {@code program}, when the working directory
     * {@code directory} does not exist, is not a directory or cannot be entered.
     */
    static void checkDirectory(String program, @Nullable Path directory) throws IOException {
        if (directory == null) {
            return;
        }
        String failure = !Files.exists(directory) ? "error=2, No such file or directory"
                : !Files.isDirectory(directory) ? "error=20, Not a directory"
                : !Files.isExecutable(directory) ? "error=13, Permission denied"
                : null;
        if (failure != null) {
            throw new IOException("Cannot run program \"" + program + "\" (in directory \"" + directory + "\"): "
                    + failure);
        }
    }

    /**
     * Fails like {@code ProcessBuilder.start} would when {@code program} cannot be executed: found as
     * {@code execvp} finds it in the child, through {@code path} unless it contains a slash, relative names
     * against {@code workingDirectory}.
     */
    static void checkExecutable(String program, @Nullable String path, @Nullable Path workingDirectory)
            throws IOException {
        if (program.contains("/")) {
            Path file = workingDirectory == null ? Path.of(program) : workingDirectory.resolve(program);
            if (!Files.exists(file)) {
                throw new IOException("Cannot run program \"" + program + "\": error=2, No such file or directory");
            }
            if (Files.isDirectory(file) || !Files.isExecutable(file)) {
                throw new IOException("Cannot run program \"" + program + "\": error=13, Permission denied");
            }
            return;
        }
        String search = path == null ? "/usr/bin:/bin" : path;
        for (String dir : search.split(File.pathSeparator, -1)) {
            Path entry = Path.of(dir.isEmpty() ? "." : dir);
            // a relative entry ("." or an empty one) is relative to the child's working directory
            Path file = (workingDirectory == null ? entry : workingDirectory.resolve(entry)).resolve(program);
            if (Files.isRegularFile(file) && Files.isExecutable(file)) {
                return;
            }
        }
        throw new IOException("Cannot run program \"" + program + "\": error=2, No such file or directory");
    }
}
