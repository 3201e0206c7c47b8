package dev.reactivelocks;

import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.OptionalLong;
import org.jspecify.annotations.Nullable;

/**
 * What a {@link LockService} knows about one held lock at one moment: "who holds this lock?". Returned by
 * {@link LockService#inspect(String)} and {@link LockService#locks(String)}; a snapshot, stale as soon as
 * it is read.
 *
 * <p>A {@code LockInfo} always describes a <em>held</em> lock: {@link #holders()} is at least one. A name
 * that nobody holds has no {@code LockInfo} (the inspection completes empty), even while acquisitions
 * wait for it for an instant between a release and the next grant.
 *
 * <p>The name, the mode and the number of holders are known to every service. The other fields are
 * optional, empty where the service cannot know them:
 * <table>
 *   <caption>What each service reports</caption>
 *   <tr><th></th><th>in-process</th><th>file</th><th>distributed (PostgreSQL, Redis, in-memory)</th></tr>
 *   <tr><td>{@link #fencingToken()}</td><td>yes</td><td>only while this JVM holds the file</td><td>yes</td></tr>
 *   <tr><td>{@link #heldSince()}</td><td>yes</td><td>only while this JVM holds the file</td>
 *       <td>PostgreSQL and in-memory: yes; Redis: empty (it records no grant time)</td></tr>
 *   <tr><td>{@link #leaseExpiry()}</td><td>empty (no lease)</td><td>empty (no lease)</td><td>yes</td></tr>
 *   <tr><td>{@link #waiting()}</td><td>yes</td><td>this JVM's waiters plus processes blocked in the
 *       kernel; processes that poll are not visible</td><td>yes, when the backend keeps a wait queue</td></tr>
 *   <tr><td>{@link #owners()}</td><td>empty (every holder is in this JVM)</td><td>{@code host:pid} of each
 *       holding process, on Linux</td><td>the owner each holding service wrote with its lease
 *       ({@code host:pid} unless configured)</td></tr>
 * </table>
 *
 * <p>Instances are immutable and thread-safe.
 */
public final class LockInfo {

    private static final long NO_TOKEN = Long.MIN_VALUE;
    private static final int UNKNOWN = -1;

    private final String name;
    private final LockMode mode;
    private final int holders;
    private final long fencingToken;
    private final @Nullable Instant heldSince;
    private final @Nullable Instant leaseExpiry;
    private final int waiting;
    private final List<String> owners;

    private LockInfo(Builder b) {
        this.name = b.name;
        this.mode = b.mode;
        this.holders = b.holders;
        this.fencingToken = b.fencingToken;
        this.heldSince = b.heldSince;
        this.leaseExpiry = b.leaseExpiry;
        this.waiting = b.waiting;
        this.owners = List.copyOf(b.owners);
    }

    /**
     * Starts a {@code LockInfo}; for implementations of {@link LockService}.
     *
     * @param name the lock name, not empty
     * @param mode the mode the lock is held in
     * @param holders how many holders hold it, {@code >= 1} (exactly 1 when {@code mode} is exclusive)
     * @return a builder with every optional field empty
     * @throws IllegalArgumentException if {@code name} is empty, {@code holders < 1}, or an exclusive lock
     *         has more than one holder
     */
    public static Builder builder(String name, LockMode mode, int holders) {
        return new Builder(name, mode, holders);
    }

    /**
     * @return the lock name as the inspected service knows it (a {@linkplain LockService#withPrefix prefixed
     *         view} reports its own names, without the prefix); file services report a lock found by
     *         {@link LockService#locks(String)} under its lock file's name
     */
    public String name() {
        return name;
    }

    /** @return the mode the lock is held in */
    public LockMode mode() {
        return mode;
    }

    /**
     * @return how many holders hold the lock: 1 when it is held exclusively, the number of shared holders
     *         (or semaphore permits taken) otherwise; always at least 1
     */
    public int holders() {
        return holders;
    }

    /**
     * @return the fencing token of the most recent grant among the current holders (for an exclusive lock,
     *         its holder's {@link LockHandle#fencingToken()}), or empty when the service cannot tell
     */
    public OptionalLong fencingToken() {
        return fencingToken == NO_TOKEN ? OptionalLong.empty() : OptionalLong.of(fencingToken);
    }

    /**
     * @return since when the lock has been held without interruption (the grant of the earliest current
     *         holder, or of the first of overlapping shared holders), by the clock of the service or of its
     *         store; empty when the service cannot tell
     */
    public Optional<Instant> heldSince() {
        return Optional.ofNullable(heldSince);
    }

    /**
     * @return for leased (distributed) locks, when the lock becomes free unless its holders renew their
     *         leases (the latest expiry among them, by the store's clock); empty for locks without lease
     */
    public Optional<Instant> leaseExpiry() {
        return Optional.ofNullable(leaseExpiry);
    }

    /**
     * @return how many acquisitions wait for the lock, or empty when the service cannot count them (see
     *         the class comment for what each service counts)
     */
    public OptionalInt waiting() {
        return waiting == UNKNOWN ? OptionalInt.empty() : OptionalInt.of(waiting);
    }

    /**
     * @return descriptions of the holders' owners where the service can tell (typically {@code host:pid}),
     *         each owner once, in no particular order; empty when it cannot (never {@code null})
     */
    public List<String> owners() {
        return owners;
    }

    /**
     * A copy under another name, for views that rename locks (such as {@link LockService#withPrefix}).
     *
     * @param name the name to report, not empty
     * @return a copy with {@code name}
     */
    public LockInfo withName(String name) {
        return toBuilder().name(name).build();
    }

    /** @return a builder initialised with every field of this instance */
    public Builder toBuilder() {
        Builder b = new Builder(name, mode, holders);
        b.fencingToken = fencingToken;
        b.heldSince = heldSince;
        b.leaseExpiry = leaseExpiry;
        b.waiting = waiting;
        b.owners.addAll(owners);
        return b;
    }

    @Override
    public boolean equals(@Nullable Object o) {
        return o instanceof LockInfo other && name.equals(other.name) && mode == other.mode
                && holders == other.holders && fencingToken == other.fencingToken
                && Objects.equals(heldSince, other.heldSince) && Objects.equals(leaseExpiry, other.leaseExpiry)
                && waiting == other.waiting && owners.equals(other.owners);
    }

    @Override
    public int hashCode() {
        return Objects.hash(name, mode, holders, fencingToken, heldSince, leaseExpiry, waiting, owners);
    }

    @Override
    public String toString() {
        return "LockInfo{name='" + name + "', mode=" + mode + ", holders=" + holders
                + (fencingToken == NO_TOKEN ? "" : ", fencingToken=" + fencingToken)
                + (heldSince == null ? "" : ", heldSince=" + heldSince)
                + (leaseExpiry == null ? "" : ", leaseExpiry=" + leaseExpiry)
                + (waiting == UNKNOWN ? "" : ", waiting=" + waiting)
                + (owners.isEmpty() ? "" : ", owners=" + owners) + "}";
    }

    /**
     * Builds a {@link LockInfo}; obtained from {@link LockInfo#builder(String, LockMode, int)}. Every optional
     * field is empty until set. Not thread-safe.
     */
    public static final class Builder {

        private String name;
        private final LockMode mode;
        private final int holders;
        private long fencingToken = NO_TOKEN;
        private @Nullable Instant heldSince;
        private @Nullable Instant leaseExpiry;
        private int waiting = UNKNOWN;
        private final List<String> owners = new ArrayList<>();

        private Builder(String name, LockMode mode, int holders) {
            this.name = checkName(name);
            this.mode = Objects.requireNonNull(mode, "mode");
            if (holders < 1) {
                throw new IllegalArgumentException("holders must be >= 1, was " + holders);
            }
            if (mode == LockMode.EXCLUSIVE && holders != 1) {
                throw new IllegalArgumentException("an exclusive lock has exactly 1 holder, was " + holders);
            }
            this.holders = holders;
        }

        private static String checkName(String name) {
            Objects.requireNonNull(name, "name");
            if (name.isEmpty()) {
                throw new IllegalArgumentException("name must not be empty");
            }
            return name;
        }

        /**
         * @param name the lock name, not empty
         * @return this builder
         */
        public Builder name(String name) {
            this.name = checkName(name);
            return this;
        }

        /**
         * @param fencingToken the fencing token of the most recent grant among the current holders
         * @return this builder
         */
        public Builder fencingToken(long fencingToken) {
            this.fencingToken = fencingToken;
            return this;
        }

        /**
         * @param heldSince since when the lock has been held without interruption
         * @return this builder
         */
        public Builder heldSince(Instant heldSince) {
            this.heldSince = Objects.requireNonNull(heldSince, "heldSince");
            return this;
        }

        /**
         * @param leaseExpiry when the lock becomes free unless its leases are renewed
         * @return this builder
         */
        public Builder leaseExpiry(Instant leaseExpiry) {
            this.leaseExpiry = Objects.requireNonNull(leaseExpiry, "leaseExpiry");
            return this;
        }

        /**
         * @param waiting how many acquisitions wait for the lock, {@code >= 0}
         * @return this builder
         */
        public Builder waiting(int waiting) {
            if (waiting < 0) {
                throw new IllegalArgumentException("waiting must be >= 0, was " + waiting);
            }
            this.waiting = waiting;
            return this;
        }

        /**
         * Adds the description of a holder's owner; an owner already added is not added again.
         *
         * @param owner a description such as {@code host:pid}, not empty
         * @return this builder
         */
        public Builder owner(String owner) {
            Objects.requireNonNull(owner, "owner");
            if (owner.isEmpty()) {
                throw new IllegalArgumentException("owner must not be empty");
            }
            if (!owners.contains(owner)) {
                owners.add(owner);
            }
            return this;
        }

        /** @return a new, immutable {@link LockInfo} */
        public LockInfo build() {
            return new LockInfo(this);
        }
    }
}
