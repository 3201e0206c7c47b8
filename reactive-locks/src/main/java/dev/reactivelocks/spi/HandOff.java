package dev.reactivelocks.spi;

import dev.reactivelocks.LockMode;
import java.util.Objects;
import org.jspecify.annotations.Nullable;

/**
 * A lease that a {@link LockBackend} granted on its own to a queued token, in the step that let the token
 * through (a release, an expiry): the lock passes to the next waiter without the waiter asking for it. See
 * {@link LockBackend#handOffs()}. Immutable value.
 */
public final class HandOff {

    private final String token;
    private final LockMode mode;
    private final long fencingToken;

    private HandOff(String token, LockMode mode, long fencingToken) {
        this.token = Objects.requireNonNull(token, "token");
        this.mode = Objects.requireNonNull(mode, "mode");
        this.fencingToken = fencingToken;
    }

    /**
     * @param token the queued owner token the lease was granted to
     * @param mode the granted mode (the mode the token queued for)
     * @param fencingToken larger than the fencing token of every earlier grant of the name
     * @return a hand-off value
     */
    public static HandOff of(String token, LockMode mode, long fencingToken) {
        return new HandOff(token, mode, fencingToken);
    }

    /** @return the owner token the lease was granted to */
    public String token() {
        return token;
    }

    /** @return the granted mode */
    public LockMode mode() {
        return mode;
    }

    /** @return the fencing token of this grant */
    public long fencingToken() {
        return fencingToken;
    }

    /**
     * This hand-off as a text signal, {@code =<fencingToken>:<E|S>:<token>}, for backends that announce
     * hand-offs on a text channel next to plain tokens (a token never starts with {@code '='}).
     *
     * @return the signal
     */
    public String signal() {
        return "=" + fencingToken + ":" + (mode == LockMode.SHARED ? 'S' : 'E') + ":" + token;
    }

    /**
     * Reads a signal made by {@link #signal()}.
     *
     * @param signal a signal read from a channel
     * @return the hand-off, or {@code null} when {@code signal} is not one (a plain token or key)
     * @throws IllegalArgumentException if it starts like a hand-off but is malformed
     */
    public static @Nullable HandOff fromSignal(String signal) {
        if (signal.isEmpty() || signal.charAt(0) != '=') {
            return null;
        }
        int fencingEnd = signal.indexOf(':');
        if (fencingEnd < 2 || signal.length() < fencingEnd + 4 || signal.charAt(fencingEnd + 2) != ':') {
            throw new IllegalArgumentException("not a hand-off signal: " + signal);
        }
        long fencing = Long.parseLong(signal, 1, fencingEnd, 10);
        LockMode mode = signal.charAt(fencingEnd + 1) == 'S' ? LockMode.SHARED : LockMode.EXCLUSIVE;
        return new HandOff(signal.substring(fencingEnd + 3), mode, fencing);
    }

    /**
     * @param name the name of the lock the token queued for
     * @return this grant as a lease of {@code name}
     */
    public BackendLease lease(String name) {
        return BackendLease.of(name, mode, token, fencingToken);
    }

    @Override
    public boolean equals(@Nullable Object o) {
        return o instanceof HandOff other && token.equals(other.token) && mode == other.mode
                && fencingToken == other.fencingToken;
    }

    @Override
    public int hashCode() {
        return Objects.hash(token, mode, fencingToken);
    }

    @Override
    public String toString() {
        return "HandOff{token=" + token + ", mode=" + mode + ", fencingToken=" + fencingToken + "}";
    }
}
