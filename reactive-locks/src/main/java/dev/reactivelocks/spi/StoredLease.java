package dev.reactivelocks.spi;

import dev.reactivelocks.LockMode;
import java.time.Instant;
import java.util.Objects;
import java.util.Optional;
import org.jspecify.annotations.Nullable;

/**
 * A live lease as a {@link LockBackend} stores it, reported by {@link LockBackend#locks(String)} for
 * inspection: the owner token it was granted to, its mode and fencing token, when it expires and, where
 * the store records it, when it was granted. Immutable value.
 */
public final class StoredLease {

    private final LockMode mode;
    private final String token;
    private final long fencingToken;
    private final Instant expiresAt;
    private final @Nullable Instant grantedAt;

    private StoredLease(LockMode mode, String token, long fencingToken, Instant expiresAt,
                        @Nullable Instant grantedAt) {
        this.mode = Objects.requireNonNull(mode, "mode");
        this.token = Objects.requireNonNull(token, "token");
        this.fencingToken = fencingToken;
        this.expiresAt = Objects.requireNonNull(expiresAt, "expiresAt");
        this.grantedAt = grantedAt;
    }

    /**
     * @param mode the granted mode
     * @param token the owner token the lease was granted to, as passed to {@link LockBackend#tryAcquire}
     * @param fencingToken the fencing token of the grant
     * @param expiresAt when the lease expires unless renewed, by the store's clock
     * @param grantedAt when the lease was granted by the store's clock, or {@code null} when the store does
     *                  not record it
     * @return a lease value
     */
    public static StoredLease of(LockMode mode, String token, long fencingToken, Instant expiresAt,
                                 @Nullable Instant grantedAt) {
        return new StoredLease(mode, token, fencingToken, expiresAt, grantedAt);
    }

    /** @return the granted mode */
    public LockMode mode() {
        return mode;
    }

    /** @return the owner token the lease belongs to */
    public String token() {
        return token;
    }

    /** @return the fencing token of the grant */
    public long fencingToken() {
        return fencingToken;
    }

    /** @return when the lease expires unless renewed, by the store's clock */
    public Instant expiresAt() {
        return expiresAt;
    }

    /** @return when the lease was granted, by the store's clock; empty when the store does not record it */
    public Optional<Instant> grantedAt() {
        return Optional.ofNullable(grantedAt);
    }

    @Override
    public boolean equals(@Nullable Object o) {
        return o instanceof StoredLease other && mode == other.mode && token.equals(other.token)
                && fencingToken == other.fencingToken && expiresAt.equals(other.expiresAt)
                && Objects.equals(grantedAt, other.grantedAt);
    }

    @Override
    public int hashCode() {
        return Objects.hash(mode, token, fencingToken, expiresAt, grantedAt);
    }

    @Override
    public String toString() {
        return "StoredLease{mode=" + mode + ", token=" + token + ", fencingToken=" + fencingToken + ", expiresAt="
                + expiresAt + (grantedAt == null ? "" : ", grantedAt=" + grantedAt) + "}";
    }
}
