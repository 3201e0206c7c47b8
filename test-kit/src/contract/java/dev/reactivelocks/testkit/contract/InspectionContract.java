package dev.reactivelocks.testkit.contract;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.reactivelocks.LockHandle;
import dev.reactivelocks.LockInfo;
import dev.reactivelocks.LockMode;
import dev.reactivelocks.LockOptions;
import dev.reactivelocks.LockService;
import dev.reactivelocks.distributed.DistributedLockService;
import dev.reactivelocks.file.FileLockService;
import dev.reactivelocks.internal.Owners;
import dev.reactivelocks.spi.ForwardingLockService;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import reactor.core.scheduler.Scheduler;
import reactor.core.scheduler.Schedulers;

/**
 * What {@link LockService#inspect(String)} and {@link LockService#locks(String)} must report, for every
 * service: mixed into {@link LockServiceContract}, so each service's contract test runs it. The optional
 * fields that a service reports are declared by overriding the {@code inspection*} methods; the assertions
 * are then exact.
 */
public interface InspectionContract {

    /** How long the tests wait for something that must happen. */
    Duration INSPECT_WAIT = Duration.ofSeconds(10);

    /** @return the service under test */
    LockService inspected();

    /**
     * @return whether the service supports inspection; a service that does not (one relying on the
     *         {@link LockService#inspect(String) default}, which signals {@link UnsupportedOperationException})
     *         returns {@code false}, and the inspection tests are skipped instead of failing
     */
    default boolean inspectionSupported() {
        return true;
    }

    /**
     * @return the owners a lock held by this JVM reports: this process for file locks, the service's owner
     *         for distributed locks, none for in-process locks (seen through the {@link ForwardingLockService}s)
     */
    default List<String> inspectionOwnersOfThisJvm() {
        Object service = ForwardingLockService.innermost(inspected());
        return service instanceof DistributedLockService d ? List.of(d.owner())
                : service instanceof FileLockService ? List.of(Owners.thisProcess()) : List.of();
    }

    /** @return whether the service reports {@link LockInfo#heldSince()} */
    default boolean inspectionReportsHeldSince() {
        return true;
    }

    /** @return whether the service reports {@link LockInfo#leaseExpiry()}: distributed services do */
    default boolean inspectionReportsLeaseExpiry() {
        return ForwardingLockService.innermost(inspected()) instanceof DistributedLockService;
    }

    /** @return the service under test, the test skipped when it does not support inspection */
    private LockService supportingInspection() {
        assumeTrue(inspectionSupported(), "the service does not support inspection");
        return inspected();
    }

    private static LockInfo inspectNow(LockService locks, String name) {
        LockInfo info = locks.inspect(name).block(INSPECT_WAIT);
        assertThat(info).as("inspect('%s') of a held lock", name).isNotNull();
        return info;
    }

    /**
     * Inspects {@code name} until {@code condition} holds (acquisitions may queue asynchronously), for at
     * most {@link #INSPECT_WAIT}.
     *
     * @param locks the service
     * @param name the lock name
     * @param condition the state awaited
     * @param description the state, for the failure message
     * @return the first state that satisfies {@code condition}
     */
    static LockInfo inspectUntil(LockService locks, String name, Predicate<LockInfo> condition,
                                         String description) {
        return firstInspected(locks, name, condition, Schedulers.parallel())
                .blockOptional(INSPECT_WAIT)
                .orElseThrow(() -> new AssertionError("'" + name + "' never showed " + description + "; last: "
                        + locks.inspect(name).block(INSPECT_WAIT)));
    }

    /**
     * The first state of {@code name} that satisfies {@code condition}, inspected at once and then every
     * 20 ms on {@code poller}; for suites that wait in a time of their own (a virtual clock).
     *
     * @param locks the service
     * @param name the lock name
     * @param condition the state awaited
     * @param poller the scheduler of the inspections
     * @return a {@code Mono} of that state, which inspects until it is seen or the subscriber cancels
     */
    static Mono<LockInfo> firstInspected(LockService locks, String name, Predicate<LockInfo> condition,
                                         Scheduler poller) {
        return Flux.interval(Duration.ZERO, Duration.ofMillis(20), poller)
                .onBackpressureDrop()
                .concatMap(tick -> locks.inspect(name))
                .filter(condition)
                .next();
    }

    private static Map<String, LockInfo> listed(LockService locks, String prefix) {
        return locks.locks(prefix).collect(Collectors.toMap(LockInfo::name, i -> i)).block(INSPECT_WAIT);
    }

    private static void release(LockHandle h) {
        h.release().block(INSPECT_WAIT);
    }

    @Test
    default void freeLocksInspectAsEmpty() {
        LockService locks = supportingInspection();
        assertThat(locks.inspect("inspect-free").blockOptional(INSPECT_WAIT)).as("never locked").isEmpty();
        release(locks.acquire("inspect-free").block(INSPECT_WAIT));
        assertThat(locks.inspect("inspect-free").blockOptional(INSPECT_WAIT)).as("released").isEmpty();
        assertThat(listed(locks, "inspect-free")).isEmpty();
    }

    @Test
    default void anExclusiveHolderIsReportedWithItsTokenOwnerAndTimes() {
        LockService locks = supportingInspection();
        Instant before = Instant.now();
        LockHandle h = locks.acquire("inspect-exclusive").block(INSPECT_WAIT);
        Instant after = Instant.now();
        LockInfo info = inspectNow(locks, "inspect-exclusive");
        assertThat(info.name()).isEqualTo("inspect-exclusive");
        assertThat(info.mode()).isEqualTo(LockMode.EXCLUSIVE);
        assertThat(info.holders()).isEqualTo(1);
        assertThat(info.fencingToken()).hasValue(h.fencingToken());
        assertThat(info.waiting()).hasValue(0);
        assertThat(info.owners()).containsExactlyElementsOf(inspectionOwnersOfThisJvm());
        if (inspectionReportsHeldSince()) {
            // the service's (or its store's) clock, which may be another machine's: a generous tolerance
            assertThat(info.heldSince()).hasValueSatisfying(t -> assertThat(t)
                    .isBetween(before.minusSeconds(5), after.plusSeconds(5)));
        } else {
            assertThat(info.heldSince()).isEmpty();
        }
        if (inspectionReportsLeaseExpiry()) {
            assertThat(info.leaseExpiry()).hasValueSatisfying(t -> assertThat(t).isAfter(before.minusSeconds(5)));
        } else {
            assertThat(info.leaseExpiry()).isEmpty();
        }
        release(h);
    }

    @Test
    default void sharedHoldersAndWaitersAreCounted() throws Exception {
        LockService locks = supportingInspection();
        LockHandle s1 = locks.acquire("inspect-shared", LockOptions.shared()).block(INSPECT_WAIT);
        LockHandle s2 = locks.acquire("inspect-shared", LockOptions.shared()).block(INSPECT_WAIT);
        LockInfo shared = inspectNow(locks, "inspect-shared");
        assertThat(shared.mode()).isEqualTo(LockMode.SHARED);
        assertThat(shared.holders()).isEqualTo(2);
        assertThat(shared.fencingToken()).hasValue(Math.max(s1.fencingToken(), s2.fencingToken()));
        assertThat(shared.waiting()).hasValue(0);

        CompletableFuture<LockHandle> writer = locks.acquire("inspect-shared").toFuture();
        LockInfo queued = inspectUntil(locks, "inspect-shared", i -> i.waiting().orElse(0) == 1, "one waiter");
        assertThat(queued.holders()).isEqualTo(2);
        release(s1);
        release(s2);
        LockHandle w = writer.get(INSPECT_WAIT.toMillis(), TimeUnit.MILLISECONDS);
        LockInfo exclusive = inspectNow(locks, "inspect-shared");
        assertThat(exclusive.mode()).isEqualTo(LockMode.EXCLUSIVE);
        assertThat(exclusive.holders()).isEqualTo(1);
        assertThat(exclusive.fencingToken()).hasValue(w.fencingToken());
        assertThat(exclusive.waiting()).hasValue(0);
        release(w);
    }

    @Test
    default void locksListsTheHeldNamesUnderAPrefix() {
        LockService locks = supportingInspection();
        LockHandle a = locks.acquire("inspect-list-a").block(INSPECT_WAIT);
        LockHandle b = locks.acquire("inspect-list-b", LockOptions.shared()).block(INSPECT_WAIT);
        LockHandle other = locks.acquire("inspect-other").block(INSPECT_WAIT);
        release(locks.acquire("inspect-list-free").block(INSPECT_WAIT));

        Map<String, LockInfo> listed = listed(locks, "inspect-list-");
        assertThat(listed).containsOnlyKeys("inspect-list-a", "inspect-list-b");
        assertThat(listed.get("inspect-list-a").mode()).isEqualTo(LockMode.EXCLUSIVE);
        assertThat(listed.get("inspect-list-a").fencingToken()).hasValue(a.fencingToken());
        assertThat(listed.get("inspect-list-b").mode()).isEqualTo(LockMode.SHARED);
        assertThat(listed.get("inspect-list-b").holders()).isEqualTo(1);
        assertThat(listed.get("inspect-list-b").fencingToken()).hasValue(b.fencingToken());
        assertThat(listed(locks, "")).containsKeys("inspect-list-a", "inspect-list-b", "inspect-other");

        release(a);
        assertThat(listed(locks, "inspect-list-")).containsOnlyKeys("inspect-list-b");
        release(b);
        release(other);
        assertThat(listed(locks, "inspect-")).isEmpty();
    }

    @Test
    default void prefixedViewsInspectUnderTheirOwnNames() {
        LockService locks = supportingInspection();
        LockService nova = locks.withPrefix("inspect-nova");
        LockHandle h = nova.acquire("db").block(INSPECT_WAIT);
        assertThat(inspectNow(nova, "db").name()).isEqualTo("db");
        assertThat(inspectNow(locks, "inspect-nova-db").fencingToken()).hasValue(h.fencingToken());
        assertThat(listed(nova, "")).containsOnlyKeys("db");
        assertThat(listed(nova, "d")).containsOnlyKeys("db");
        assertThat(listed(nova, "x")).isEmpty();
        release(h);
        assertThat(nova.inspect("db").blockOptional(INSPECT_WAIT)).isEmpty();
    }

    @Test
    default void aPerCallLeaseIsAcceptedByEveryService() {
        LockService locks = supportingInspection();
        LockHandle h = locks.acquire("inspect-lease", LockOptions.exclusive().lease(Duration.ofSeconds(30)))
                .block(INSPECT_WAIT);
        assertThat(inspectNow(locks, "inspect-lease").fencingToken()).hasValue(h.fencingToken());
        release(h);
    }

    @Test
    default void inspectionArgumentsAreCheckedAtAssembly() {
        LockService locks = supportingInspection();
        assertThatThrownBy(() -> locks.inspect("")).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> locks.inspect(null)).isInstanceOf(NullPointerException.class);
        assertThatThrownBy(() -> locks.locks(null)).isInstanceOf(NullPointerException.class);
        assertThatThrownBy(() -> locks.withPrefix("p").inspect("")).isInstanceOf(IllegalArgumentException.class);
    }
}
