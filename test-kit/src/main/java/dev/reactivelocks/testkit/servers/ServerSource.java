package dev.reactivelocks.testkit.servers;

/** Where a test server came from, in the order they are tried. */
public enum ServerSource {
    /** Named by an environment variable ({@code REACTIVE_LOCKS_TEST_POSTGRES}, {@code REACTIVE_LOCKS_TEST_REDIS}). */
    CONFIGURED,
    /** The local default address answered within the connect timeout. */
    LOCAL,
    /** Started inside this test JVM, on a free port, and stopped when the JVM ends. */
    EMBEDDED
}
