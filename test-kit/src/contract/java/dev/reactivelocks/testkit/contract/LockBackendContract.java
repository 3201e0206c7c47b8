package dev.reactivelocks.testkit.contract;

import static org.assertj.core.api.Assertions.assertThat;

import dev.reactivelocks.LockConfigurationException;
import dev.reactivelocks.LockMode;
import dev.reactivelocks.spi.BackendLease;
import dev.reactivelocks.spi.LockBackend;
import dev.reactivelocks.spi.Permits;
import java.time.Duration;
import java.util.List;
import java.util.UUID;
import org.jspecify.annotations.Nullable;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import reactor.core.publisher.Mono;
import reactor.test.StepVerifier;

/**
 * The rules of {@link LockBackend} as tests: what every store of leases does, whatever the store. Extend it
 * (or {@link WaitQueueContract}, for a backend with a wait queue) and return the backend under test:
 *
 * <pre>{@code
 * class MyLockBackendTest extends LockBackendContract {
 *     private static final MyLockBackend backend = MyLockBackend.create(...);
 *
 *     @Override
 *     protected LockBackend backend() {
 *         return backend;
 *     }
 * }
 * }</pre>
 *
 * <p>{@link #backend()} may return one backend for the whole class: each test uses names of its own (see
 * {@link #name(String)}), and the store should be a namespace of the class's own (a table, a key prefix),
 * because one test uses some names verbatim. Tests wait for leases to expire by the store's clock, so a
 * backend with a clock of its own must use a real one. Rules a backend may leave out are skipped when it says
 * so: permits ({@link LockBackend#countsPermits()}) and downgrades (an {@link UnsupportedOperationException}).
 *
 * <p>The rules: exclusive and shared leases ({@link #exclusiveExcludesEveryoneAndSharedOverlaps}), each naming
 * its lock, mode and token; release is compare-and-delete on the token; acquisition is idempotent per token;
 * leases expire by the store's clock, a renewal extends a lease to the lifetime it asks for, and an expired lease
 * is taken over but never renewed or released by its old owner; fencing tokens increase
 * strictly per name, takeovers and downgrades included; names of any characters and length are kept apart;
 * permits count holders and callers must agree on them; a downgrade turns an exclusive lease into a shared one
 * in one step.
 */
public abstract class LockBackendContract {

    /** A lease long enough to outlive any test that does not wait for it to expire. */
    protected static final Duration LEASE = Duration.ofSeconds(30);
    /** How long a single store operation may take. */
    protected static final Duration WAIT = Duration.ofSeconds(10);

    private final String namespace = "lbc-" + UUID.randomUUID().toString().substring(0, 8) + "-";

    /**
     * The backend under test.
     *
     * @return the backend; may be the same for every test of the class
     */
    protected abstract LockBackend backend();

    /**
     * A name of this test's own.
     *
     * @param label what the name is for
     * @return {@code label} behind a prefix unique to this test
     */
    protected String name(String label) {
        return namespace + label;
    }

    /**
     * {@link LockBackend#tryAcquire} with {@link #LEASE}, waited for.
     *
     * @param name the lock name
     * @param mode the mode
     * @param token the owner token
     * @return the lease, or {@code null} when busy
     */
    protected @Nullable BackendLease acquire(String name, LockMode mode, String token) {
        return backend().tryAcquire(name, mode, token, LEASE).block(WAIT);
    }

    /**
     * {@link LockBackend#release}, waited for.
     *
     * @param name the lock name
     * @param token the owner token
     * @return whether a lease was deleted
     */
    protected boolean release(String name, String token) {
        return Boolean.TRUE.equals(backend().release(name, token).block(WAIT));
    }

    private static long fencing(@Nullable BackendLease lease) {
        assertThat(lease).as("granted").isNotNull();
        return lease.fencingToken();
    }

    // ---- modes, ownership, idempotence ---------------------------------------------------------------------

    @Test
    protected void exclusiveExcludesEveryoneAndSharedOverlaps() {
        String ex = name("ex");
        assertThat(acquire(ex, LockMode.EXCLUSIVE, "a")).isNotNull();
        assertThat(acquire(ex, LockMode.EXCLUSIVE, "b")).isNull();
        assertThat(acquire(ex, LockMode.SHARED, "c")).isNull();

        String sh = name("sh");
        assertThat(acquire(sh, LockMode.SHARED, "a")).isNotNull();
        assertThat(acquire(sh, LockMode.SHARED, "b")).isNotNull();
        assertThat(acquire(sh, LockMode.EXCLUSIVE, "c")).isNull();
        release(sh, "a");
        assertThat(acquire(sh, LockMode.EXCLUSIVE, "c")).isNull();
        release(sh, "b");
        assertThat(acquire(sh, LockMode.EXCLUSIVE, "c")).isNotNull();
    }

    @Test
    protected void releaseIsCompareAndDeleteOnTheToken() {
        String cad = name("cad");
        BackendLease owner = acquire(cad, LockMode.EXCLUSIVE, "owner");
        assertThat(release(cad, "intruder")).isFalse();
        assertThat(acquire(cad, LockMode.EXCLUSIVE, "other")).isNull();
        assertThat(release(cad, "owner")).isTrue();
        assertThat(release(cad, "owner")).isFalse();
        assertThat(fencing(acquire(cad, LockMode.EXCLUSIVE, "other"))).isGreaterThan(fencing(owner));
    }

    @Test
    protected void repeatingAnAcquireWithTheSameTokenReturnsTheSameGrant() {
        String idem = name("idem");
        BackendLease first = acquire(idem, LockMode.EXCLUSIVE, "tok");
        BackendLease again = acquire(idem, LockMode.EXCLUSIVE, "tok");
        assertThat(first).isNotNull();
        assertThat(again).isEqualTo(first);
    }

    @Test
    protected void renewExtendsOnlyTheLeaseOfItsOwnToken() {
        String r = name("renew");
        acquire(r, LockMode.EXCLUSIVE, "owner");
        assertThat(backend().renew(r, "intruder", LEASE).block(WAIT)).isFalse();
        assertThat(backend().renew(r, "owner", LEASE).block(WAIT)).isTrue();
        assertThat(backend().renew(name("never-held"), "owner", LEASE).block(WAIT)).isFalse();
    }

    @Test
    protected void aLeaseNamesItsLockModeAndToken() {
        String n = name("lease");
        assertThat(acquire(n, LockMode.EXCLUSIVE, "ex")).as("exclusive")
                .extracting(BackendLease::name, BackendLease::mode, BackendLease::token)
                .containsExactly(n, LockMode.EXCLUSIVE, "ex");
        release(n, "ex");
        assertThat(acquire(n, LockMode.SHARED, "sh")).as("shared")
                .extracting(BackendLease::name, BackendLease::mode, BackendLease::token)
                .containsExactly(n, LockMode.SHARED, "sh");
        release(n, "sh");
    }

    // ---- leases by the store's clock ----------------------------------------------------------------------

    @Test
    protected void renewExtendsTheLeaseToTheLifetimeAsked() {
        String r = name("renew-extends");
        backend().tryAcquire(r, LockMode.EXCLUSIVE, "owner", Duration.ofSeconds(1)).block(WAIT);
        assertThat(backend().renew(r, "owner", LEASE).block(WAIT)).isTrue();
        assertThat(Mono.delay(Duration.ofMillis(1500)).then(backend().tryAcquire(r, LockMode.EXCLUSIVE, "other", LEASE))
                .block(WAIT)).as("taken over after the first lifetime, although renewed for %s", LEASE).isNull();
        assertThat(backend().renew(r, "owner", LEASE).block(WAIT)).isTrue();
    }

    @Test
    protected void expiredLeaseIsTakenOverAndCannotBeRenewedOrReleasedByItsOldOwner() {
        String exp = name("exp");
        BackendLease old = backend().tryAcquire(exp, LockMode.EXCLUSIVE, "old", Duration.ofSeconds(1)).block(WAIT);
        assertThat(backend().renew(exp, "old", Duration.ofSeconds(1)).block(WAIT)).isTrue();
        assertThat(backend().tryAcquire(exp, LockMode.EXCLUSIVE, "new", LEASE).block(WAIT)).isNull();
        BackendLease taken = Mono.delay(Duration.ofMillis(1500))
                .then(backend().tryAcquire(exp, LockMode.EXCLUSIVE, "new", LEASE)).block(WAIT);
        assertThat(taken).isNotNull();
        assertThat(fencing(taken)).isGreaterThan(fencing(old));
        assertThat(backend().renew(exp, "old", LEASE).block(WAIT)).isFalse();
        assertThat(release(exp, "old")).isFalse();
        assertThat(backend().renew(exp, "new", LEASE).block(WAIT)).isTrue();
    }

    @Test
    protected void anExpiredButUntakenLeaseIsNotRenewedBackToLife() {
        String late = name("late");
        backend().tryAcquire(late, LockMode.EXCLUSIVE, "slow", Duration.ofMillis(100)).block(WAIT);
        assertThat(Mono.delay(Duration.ofMillis(300)).then(backend().renew(late, "slow", LEASE)).block(WAIT))
                .isFalse();
    }

    @Test
    protected void anExpiredSharedLeaseNextToALiveOneIsIgnoredAndNotRenewedBackToLife() {
        String late = name("late-shared");
        backend().tryAcquire(late, LockMode.SHARED, "slow", Duration.ofMillis(100)).block(WAIT);
        backend().tryAcquire(late, LockMode.SHARED, "live", LEASE).block(WAIT);
        assertThat(Mono.delay(Duration.ofMillis(300)).then(backend().renew(late, "slow", LEASE)).block(WAIT))
                .isFalse();
        assertThat(acquire(late, LockMode.EXCLUSIVE, "x")).as("the live shared lease still excludes").isNull();
        release(late, "live");
        assertThat(acquire(late, LockMode.EXCLUSIVE, "x")).isNotNull();
    }

    // ---- fencing --------------------------------------------------------------------------------------------

    @Test
    protected void fencingTokensIncreaseStrictlyPerNameAcrossTakeovers() {
        String fence = name("fence");
        long last = 0;
        for (int i = 0; i < 20; i++) {
            long token = fencing(acquire(fence, LockMode.EXCLUSIVE, "t" + i));
            assertThat(token).isGreaterThan(last);
            last = token;
            release(fence, "t" + i);
        }
    }

    // ---- names ----------------------------------------------------------------------------------------------

    /**
     * Names a store may trip over (quotes and pattern characters, NUL, surrogates alone and in pairs, 10 KiB,
     * characters with a meaning in keys), used verbatim.
     *
     * @return the names; override to add the ones your store treats specially
     */
    protected List<String> awkwardNames() {
        return List.of(
                "it's \"quoted\" * ? [x] \\ ; --", "it's \"quoted\"; DROP TABLE locks; --",
                "a\u0000b", "a\u0000c",
                "lock-\uD83D\uDD12-\u00e9",
                "lone-\uD800", "lone-\uDBFF",
                "x".repeat(10 * 1024) + "\u0000" + "y".repeat(100),
                "x".repeat(10 * 1024) + "\u0000" + "y".repeat(99) + "z",
                "}starts-with-a-brace", "~starts-with-the-escape", "~}");
    }

    @Test
    protected void namesOfAnyCharactersAndLengthAreKeptApart() {
        List<String> names = awkwardNames();
        for (String name : names) {
            assertThat(acquire(name, LockMode.EXCLUSIVE, "first")).as("free: %s", name.length()).isNotNull();
            assertThat(acquire(name, LockMode.EXCLUSIVE, "second")).as("held: %s", name.length()).isNull();
        }
        for (String name : names) {
            assertThat(release(name, "first")).as("released: %s", name.length()).isTrue();
        }
    }

    // ---- permits --------------------------------------------------------------------------------------------

    /** Skips the test unless the backend counts permits. */
    private void assumeCountsPermits() {
        Assumptions.assumeTrue(backend().countsPermits(), "this backend does not count permits");
    }

    private @Nullable BackendLease permit(String name, int permits, String token) {
        return backend().tryAcquirePermit(name, permits, token, LEASE).block(WAIT);
    }

    @Test
    protected void permitsCountTheHoldersOfANameAndExcludeWriters() {
        assumeCountsPermits();
        String sem = name("sem");
        long a = fencing(permit(sem, 2, "a"));
        long b = fencing(permit(sem, 2, "b"));
        assertThat(b).isNotEqualTo(a);
        assertThat(permit(sem, 2, "c")).as("both permits taken").isNull();
        assertThat(acquire(sem, LockMode.EXCLUSIVE, "w")).as("a writer waits for every permit").isNull();
        assertThat(permit(sem, 2, "a")).as("idempotent per token").isEqualTo(BackendLease.of(sem, LockMode.SHARED, "a", a));
        release(sem, "a");
        assertThat(fencing(permit(sem, 2, "c"))).isGreaterThan(Math.max(a, b));
        release(sem, "b");
        release(sem, "c");
        assertThat(acquire(sem, LockMode.EXCLUSIVE, "w")).isNotNull();
    }

    @Test
    protected void callersOfANameMustAgreeOnItsPermits() {
        assumeCountsPermits();
        String sem = name("agree");
        permit(sem, 2, "a");
        StepVerifier.create(backend().tryAcquirePermit(sem, 3, "b", LEASE))
                .expectErrorSatisfies(e -> assertThat(e).isInstanceOf(LockConfigurationException.class)
                        .hasMessage(Permits.disagreement(sem, LockMode.SHARED, 3, 2).getMessage()))
                .verify(WAIT);
        StepVerifier.create(backend().tryAcquire(sem, LockMode.SHARED, "c", LEASE))
                .expectErrorSatisfies(e -> assertThat(e).isInstanceOf(LockConfigurationException.class)
                        .hasMessage(Permits.disagreement(sem, LockMode.SHARED, 0, 2).getMessage()))
                .verify(WAIT);
        String plain = name("agree-plain");
        acquire(plain, LockMode.SHARED, "a");
        StepVerifier.create(backend().tryAcquirePermit(plain, 2, "b", LEASE))
                .expectErrorSatisfies(e -> assertThat(e).isInstanceOf(LockConfigurationException.class)
                        .hasMessage(Permits.disagreement(plain, LockMode.SHARED, 2, 0).getMessage()))
                .verify(WAIT);
    }

    // ---- downgrade ------------------------------------------------------------------------------------------

    /**
     * {@link LockBackend#downgrade}, skipping the test when the backend says it cannot.
     *
     * @param name the lock name
     * @param token the owner token
     * @return the shared lease, or {@code null} when the token holds no live lease
     */
    protected @Nullable BackendLease downgradeOrSkip(String name, String token) {
        try {
            return backend().downgrade(name, token, LEASE).block(WAIT);
        } catch (UnsupportedOperationException e) {
            Assumptions.abort("this backend cannot downgrade: " + e.getMessage());
            throw e;
        }
    }

    @Test
    protected void aDowngradeTurnsTheExclusiveLeaseSharedWithALargerFencingTokenInOneStep() {
        String dg = name("downgrade");
        long exclusive = fencing(acquire(dg, LockMode.EXCLUSIVE, "owner"));
        BackendLease shared = downgradeOrSkip(dg, "owner");
        assertThat(shared).isNotNull();
        assertThat(shared.mode()).isEqualTo(LockMode.SHARED);
        assertThat(shared.token()).isEqualTo("owner");
        assertThat(shared.fencingToken()).isGreaterThan(exclusive);
        assertThat(downgradeOrSkip(dg, "owner")).as("idempotent per token").isEqualTo(shared);
        assertThat(acquire(dg, LockMode.SHARED, "reader")).as("readers share it now").isNotNull();
        assertThat(acquire(dg, LockMode.EXCLUSIVE, "writer")).as("no writer gets in").isNull();
        assertThat(backend().renew(dg, "owner", LEASE).block(WAIT)).isTrue();
        assertThat(release(dg, "owner")).isTrue();
        assertThat(downgradeOrSkip(dg, "owner")).as("a token without a live lease gets nothing").isNull();
    }
}
