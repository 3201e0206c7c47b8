/**
 * The rules every lock service and every lock store passes, as abstract JUnit 5 suites to extend:
 * {@link dev.reactivelocks.testkit.contract.LockServiceContract} for any {@link dev.reactivelocks.LockService}
 * (a decorator, an adapter, a new kind of lock), {@link dev.reactivelocks.testkit.contract.DistributedLockServiceContract}
 * for a {@link dev.reactivelocks.distributed.DistributedLockService} over a store, and
 * {@link dev.reactivelocks.testkit.contract.LockBackendContract} (with
 * {@link dev.reactivelocks.testkit.contract.WaitQueueContract} for a store with a wait queue) for an implementation
 * of {@link dev.reactivelocks.spi.LockBackend}. Beside them are the race tools the suites use, for tests of your own:
 * {@link dev.reactivelocks.testkit.contract.SpinRacer}, {@link dev.reactivelocks.testkit.contract.HeldByNobodyRaces},
 * {@link dev.reactivelocks.testkit.contract.ExclusionUnderChaos} and {@link dev.reactivelocks.testkit.contract.QueueDrain}.
 *
 * <p>The suites assert with AssertJ and reactor-test, which come with this artifact, and expect BlockHound to be
 * installed (add {@code io.projectreactor.tools:blockhound-junit-platform} with test scope). Classes in this package
 * depend only on the core and on each other, never on the rest of the test kit: the core's own build compiles them
 * from source for its tests.
 */
@NullMarked
package dev.reactivelocks.testkit.contract;

import org.jspecify.annotations.NullMarked;
