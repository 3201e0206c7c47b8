package dev.reactivelocks.redis;

import dev.reactivelocks.LockMode;
import java.time.Duration;
import java.util.Objects;
import org.jspecify.annotations.Nullable;

/**
 * One lease found in Redis by {@link RedisLockBackend#leases()}: a diagnostic snapshot, immutable.
 */
public final class RedisLeaseInfo {

    private final String name;
    private final LockMode mode;
    private final String token;
    private final long fencingToken;
    private final Duration remaining;

    RedisLeaseInfo(String name, LockMode mode, String token, long fencingToken, Duration remaining) {
        this.name = name;
        this.mode = mode;
        this.token = token;
        this.fencingToken = fencingToken;
        this.remaining = remaining;
    }

    /** @return the lock name */
    public String name() {
        return name;
    }

    /** @return the granted mode */
    public LockMode mode() {
        return mode;
    }

    /** @return the owner token of the grant */
    public String token() {
        return token;
    }

    /** @return the fencing token of the grant */
    public long fencingToken() {
        return fencingToken;
    }

    /**
     * @return the lease time left by the Redis clock when it was read; zero or negative when the lease
     *         had expired (it is then ignored by every acquisition and removed by the next one)
     */
    public Duration remaining() {
        return remaining;
    }

    /** @return whether the lease was live (not expired) when it was read */
    public boolean isLive() {
        return !remaining.isNegative() && !remaining.isZero();
    }

    @Override
    public boolean equals(@Nullable Object o) {
        return o instanceof RedisLeaseInfo other && name.equals(other.name) && mode == other.mode
                && token.equals(other.token) && fencingToken == other.fencingToken
                && remaining.equals(other.remaining);
    }

    @Override
    public int hashCode() {
        return Objects.hash(name, mode, token, fencingToken, remaining);
    }

    @Override
    public String toString() {
        return "RedisLeaseInfo{name='" + name + "', mode=" + mode + ", token=" + token + ", fencingToken="
                + fencingToken + ", remaining=" + remaining + "}";
    }
}
