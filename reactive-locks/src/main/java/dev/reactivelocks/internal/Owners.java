package dev.reactivelocks.internal;

import java.io.IOException;
import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;
import org.jspecify.annotations.Nullable;

/**
 * Descriptions of lock owners, {@code host:pid}. A distributed service puts its owner at the start of each
 * grant's owner token, {@code owner + '/' + unique part}, so that any backend stores it with the lease and
 * inspection reads it back from the token; file locks report the processes that hold them the same way.
 */
public final class Owners {

    /** The longest owner description. */
    public static final int MAX_LENGTH = 200;
    /** Ends the owner in an owner token. */
    public static final char SEPARATOR = '/';

    private Owners() {
    }

    /** @return {@code host:pid} of this process, computed once per JVM */
    public static String thisProcess() {
        return ThisProcess.OWNER;
    }

    /**
     * @param pid a process id of this host
     * @return {@code host:pid}
     */
    public static String ofProcess(long pid) {
        return sanitised(ThisProcess.HOST + ":" + pid);
    }

    /**
     * @param token an owner token
     * @return the owner written in {@code token}, empty for a token of a writer that put none there
     */
    public static Optional<String> of(String token) {
        int end = token.lastIndexOf(SEPARATOR);
        return end > 0 ? Optional.of(token.substring(0, end)) : Optional.empty();
    }

    /**
     * @param s a string
     * @return whether every character of {@code s} is printable ASCII, space to {@code ~}
     */
    public static boolean printableAscii(String s) {
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c < 0x20 || c > 0x7e) {
                return false;
            }
        }
        return true;
    }

    /** {@code s} with every character that is not printable ASCII replaced by {@code '?'}, truncated. */
    private static String sanitised(String s) {
        StringBuilder b = new StringBuilder(Math.min(s.length(), MAX_LENGTH));
        for (int i = 0; i < s.length() && b.length() < MAX_LENGTH; i++) {
            char c = s.charAt(i);
            b.append(c < 0x20 || c > 0x7e ? '?' : c);
        }
        return b.toString();
    }

    /** Looked up once per JVM, at the first use. */
    private static final class ThisProcess {
        static final String HOST = host();
        static final String OWNER = sanitised(HOST + ":" + ProcessHandle.current().pid());

        private static String host() {
            for (String variable : new String[] {"HOSTNAME", "COMPUTERNAME"}) {
                String value = System.getenv(variable);
                if (value != null && !value.isBlank()) {
                    return value.strip();
                }
            }
            String kernel = kernelHostName();
            if (kernel != null) {
                return kernel;
            }
            try {
                return InetAddress.getLocalHost().getHostName();
            } catch (IOException | RuntimeException e) {
                return "unknown-host";
            }
        }

        private static @Nullable String kernelHostName() {
            try {
                String name = Files.readString(Path.of("/proc/sys/kernel/hostname"), StandardCharsets.UTF_8).strip();
                return name.isEmpty() ? null : name;
            } catch (IOException | RuntimeException e) {
                return null;
            }
        }
    }
}
