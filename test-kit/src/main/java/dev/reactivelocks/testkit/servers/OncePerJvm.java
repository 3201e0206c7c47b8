package dev.reactivelocks.testkit.servers;

import java.util.function.Function;
import java.util.function.Supplier;
import org.jspecify.annotations.Nullable;

/**
 * The server of one kind for this JVM: looked for on the first {@link #get()}, which prints the one line saying
 * which server and why; later calls return the same server, or fail with the same message.
 */
final class OncePerJvm<T> {

    private final String kind;
    private final Supplier<T> find;
    private final Function<T, String> description;
    private @Nullable T server;
    private @Nullable String failure;

    OncePerJvm(String kind, Supplier<T> find, Function<T, String> description) {
        this.kind = kind;
        this.find = find;
        this.description = description;
    }

    synchronized T get() {
        if (server == null && failure == null) {
            try {
                T found = find.get();
                server = found;
                ServerSupport.log(kind + ": " + description.apply(found));
            } catch (AssertionError e) {
                failure = e.getMessage();
                ServerSupport.log(kind + ": none (" + failure + ")");
            }
        }
        T found = server;
        if (found == null) {
            throw new AssertionError(failure);
        }
        return found;
    }
}
