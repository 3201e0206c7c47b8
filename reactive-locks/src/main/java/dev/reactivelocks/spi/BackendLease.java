package dev.reactivelocks.spi;

import dev.reactivelocks.LockMode;
import java.util.Objects;
import org.jspecify.annotations.Nullable;

/**
 * A lease granted by a {@link LockBackend}: who holds which lock, in which mode, and the fencing token of
 * this grant. Immutable value.
 */
public final class BackendLease {

    private final String name;
    private final LockMode mode;
    private final String token;
    private final long fencingToken;

    private BackendLease(String name, LockMode mode, String token, long fencingToken) {
        this.name = Objects.requireNonNull(name, "name");
        this.mode = Objects.requireNonNull(mode, "mode");
        this.token = Objects.requireNonNull(token, "token");
        this.fencingToken = fencingToken;
    }

    /**
     * @param name the lock name
     * @param mode the granted mode
     * @param token the owner token the lease was granted to
     * @param fencingToken larger than the fencing token of every earlier grant of {@code name}
     * @return a lease value
     */
    public static BackendLease of(String name, LockMode mode, String token, long fencingToken) {
        return new BackendLease(name, mode, token, fencingToken);
    }

    /** @return the lock name */
    public String name() {
        return name;
    }

    /** @return the granted mode */
    public LockMode mode() {
        return mode;
    }

    /** @return the owner token this lease belongs to */
    public String token() {
        return token;
    }

    /** @return the fencing token of this grant */
    public long fencingToken() {
        return fencingToken;
    }

    @Override
    public boolean equals(@Nullable Object o) {
        return o instanceof BackendLease other && name.equals(other.name) && mode == other.mode
                && token.equals(other.token) && fencingToken == other.fencingToken;
    }

    @Override
    public int hashCode() {
        return Objects.hash(name, mode, token, fencingToken);
    }

    @Override
    public String toString() {
        return "BackendLease{name='" + name + "', mode=" + mode + ", token=" + token + ", fencingToken="
                + fencingToken + "}";
    }
}
