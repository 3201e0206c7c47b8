package dev.reactivelocks.testkit.contract;

import dev.reactivelocks.LockHandle;
import dev.reactivelocks.LockMode;
import dev.reactivelocks.LockOptions;
import dev.reactivelocks.file.FileLockConfig;
import dev.reactivelocks.file.FileLockService;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import reactor.core.publisher.Mono;

/**
 * A child-process entry point for tests and demos: a second JVM that contends for a file lock.
 *
 * <pre>
 * java -cp &lt;classpath&gt; dev.reactivelocks.testkit.contract.FileLockChildMain hold &lt;lockDir&gt; &lt;name&gt; [EXCLUSIVE|SHARED]
 *     acquires the lock (waiting as long as it takes), prints "LOCKED &lt;fencingToken&gt;", holds it until
 *     standard input reaches end of file or a line "release", releases it, prints "RELEASED", exits 0.
 *
 * java -cp &lt;classpath&gt; dev.reactivelocks.testkit.contract.FileLockChildMain count &lt;lockDir&gt; &lt;name&gt; &lt;counterFile&gt; &lt;n&gt; [locked|unlocked]
 *     prints "READY", waits for a line "GO", then n times reads the decimal counter in counterFile and
 *     writes it back incremented (under the exclusive lock unless "unlocked"), prints "DONE", exits 0.
 *
 * java -cp &lt;classpath&gt; dev.reactivelocks.testkit.contract.FileLockChildMain tokens &lt;lockDir&gt; &lt;name&gt; &lt;logFile&gt; &lt;n&gt;
 *     prints "READY", waits for a line "GO", then n times appends its fencing token as a line to logFile
 *     while holding the exclusive lock, prints "DONE", exits 0.
 * </pre>
 *
 * Exits 2 on bad arguments, 1 on any other failure (with the error on standard error).
 */
public final class FileLockChildMain {

    private FileLockChildMain() {
    }

    /**
     * Runs one of the commands above.
     *
     * @param args the command and its arguments
     * @throws Exception when the command fails (exit status 1)
     */
    public static void main(String[] args) throws Exception {
        if (args.length < 3) {
            usage();
        }
        FileLockConfig config = FileLockConfig.builder().lockDirectory(Path.of(args[1])).build();
        FileLockService locks = FileLockService.create(config);
        BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
        try {
            switch (args[0]) {
                case "hold" -> hold(locks, in, args);
                case "count" -> count(locks, in, args);
                case "tokens" -> tokens(locks, in, args);
                default -> usage();
            }
        } finally {
            locks.dispose();
        }
        System.exit(0);
    }

    private static void hold(FileLockService locks, BufferedReader in, String[] args) throws IOException {
        LockMode mode = args.length > 3 ? LockMode.valueOf(args[3]) : LockMode.EXCLUSIVE;
        LockHandle handle = locks.acquire(args[2], LockOptions.of(mode)).block();
        if (handle == null) {
            throw new IllegalStateException("no handle");
        }
        System.out.println("LOCKED " + handle.fencingToken());
        System.out.flush();
        String line;
        while ((line = in.readLine()) != null && !line.equals("release")) {
            // keep holding
        }
        handle.release().block(Duration.ofSeconds(10));
        System.out.println("RELEASED");
        System.out.flush();
    }

    private static void count(FileLockService locks, BufferedReader in, String[] args) throws IOException {
        if (args.length < 5) {
            usage();
        }
        Path counter = Path.of(args[3]);
        int n = Integer.parseInt(args[4]);
        boolean locked = args.length <= 5 || !args[5].equals("unlocked");
        System.out.println("READY");
        System.out.flush();
        String go = in.readLine();
        if (!"GO".equals(go)) {
            throw new IllegalStateException("expected GO, got " + go);
        }
        // Under the lock the body runs on the thread the grant is signalled on: the service's bounded
        // scheduler, where blocking file I/O is allowed.
        Mono<Void> increment = Mono.fromRunnable(() -> increment(counter));
        for (int i = 0; i < n; i++) {
            if (locked) {
                locks.withLock(args[2], increment).block(Duration.ofSeconds(60));
            } else {
                increment.block(Duration.ofSeconds(60));
            }
        }
        System.out.println("DONE");
        System.out.flush();
    }

    private static void tokens(FileLockService locks, BufferedReader in, String[] args) throws IOException {
        if (args.length < 5) {
            usage();
        }
        Path log = Path.of(args[3]);
        int n = Integer.parseInt(args[4]);
        System.out.println("READY");
        System.out.flush();
        String go = in.readLine();
        if (!"GO".equals(go)) {
            throw new IllegalStateException("expected GO, got " + go);
        }
        for (int i = 0; i < n; i++) {
            locks.withLock(args[2], LockOptions.exclusive(),
                    h -> Mono.<Void>fromRunnable(() -> appendToken(log, h.fencingToken())))
                    .block(Duration.ofSeconds(60));
        }
        System.out.println("DONE");
        System.out.flush();
    }

    /** Appends {@code token} as a line to {@code log}; called while holding the lock. */
    public static void appendToken(Path log, long token) {
        try {
            Files.writeString(log, token + "\n", StandardCharsets.US_ASCII, StandardOpenOption.CREATE,
                    StandardOpenOption.APPEND);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Read-modify-write with a window in the middle, so that unguarded writers lose updates. */
    private static void increment(Path counter) {
        try {
            String text = Files.readString(counter, StandardCharsets.US_ASCII).trim();
            long value = text.isEmpty() ? 0 : Long.parseLong(text);
            Thread.yield();
            Files.writeString(counter, Long.toString(value + 1), StandardCharsets.US_ASCII);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static void usage() {
        System.err.println("usage: hold <lockDir> <name> [EXCLUSIVE|SHARED]"
                + " | count <lockDir> <name> <counterFile> <n> [locked|unlocked]"
                + " | tokens <lockDir> <name> <logFile> <n>");
        System.exit(2);
    }
}
