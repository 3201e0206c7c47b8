package dev.reactivelocks.distributed;

import dev.reactivelocks.spi.LockBackend;
import dev.reactivelocks.testkit.contract.DistributedLockServiceContract;

/**
 * The distributed contract over the in-memory reference backend that hands the lock off: every service of a
 * test shares one store, as clients of one server would. On the real schedulers, as a store on another machine
 * needs; {@link InMemoryDistributedVirtualTimeContractTest} runs the same suite in virtual time.
 */
class InMemoryDistributedContractTest extends DistributedLockServiceContract {

    private final InMemoryLockBackend store = InMemoryLockBackend.createHandingOff();

    @Override
    protected LockBackend newBackend(String clientName) {
        return store; // closing it closes nothing: the other services keep using it
    }

    @Override
    protected long liveLeases(String name) {
        return store.liveFencingTokens(name).size();
    }

}
