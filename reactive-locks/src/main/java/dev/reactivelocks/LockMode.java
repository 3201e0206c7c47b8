package dev.reactivelocks;

/**
 * How a lock is held.
 *
 * <p>Any number of {@link #SHARED} holders may hold a name together; an {@link #EXCLUSIVE} holder holds
 * it alone.
 */
public enum LockMode {
    /** Held by one holder at a time; excludes every other holder, shared or exclusive. */
    EXCLUSIVE,
    /** Held together with other shared holders; excludes exclusive holders. */
    SHARED;

    /**
     * Whether a holder in this mode may hold the lock together with a holder in {@code other} mode.
     *
     * @param other the other holder's mode
     * @return {@code true} only when both modes are {@link #SHARED}
     */
    public boolean compatibleWith(LockMode other) {
        return this == SHARED && other == SHARED;
    }
}
