package dev.reactivelocks.stress;

import dev.reactivelocks.LockHandle;
import dev.reactivelocks.LockMode;
import dev.reactivelocks.distributed.DistributedLockService;
import dev.reactivelocks.distributed.InMemoryLockBackend;
import dev.reactivelocks.spi.BackendLease;
import dev.reactivelocks.spi.LockBackend;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicBoolean;
import org.openjdk.jcstress.annotations.Actor;
import org.openjdk.jcstress.annotations.Arbiter;
import org.openjdk.jcstress.annotations.Expect;
import org.openjdk.jcstress.annotations.JCStressTest;
import org.openjdk.jcstress.annotations.Outcome;
import org.openjdk.jcstress.annotations.State;
import org.openjdk.jcstress.infra.results.II_Result;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import reactor.core.publisher.Sinks;
import reactor.test.scheduler.VirtualTimeScheduler;

/**
 * The renewal window of a distributed handle: a renewal was sent, and its answer arrives while the service is
 * disposed (which stops the renewals). Whichever lands first, the lease's end must stay watched: once the renewed
 * lease ended in the store (virtual time moved past it), the handle is not held and {@code lost()} completed.
 * r1: the handle still claims to hold; r2: {@code lost()} completed.
 */
@JCStressTest
@Outcome(id = "0, 1", expect = Expect.ACCEPTABLE, desc = "lost once the renewed lease ended")
@Outcome(id = "1, 0", expect = Expect.FORBIDDEN, desc = "held after its lease ended in the store (watch stopped)")
@Outcome(expect = Expect.FORBIDDEN, desc = "held and lost at once, or neither")
@State
public class RenewalAnswerVersusDisposeStressTest {

    static final Duration LEASE = Duration.ofSeconds(2);
    static final Duration RENEW = Duration.ofMillis(500);

    final VirtualTimeScheduler time = VirtualTimeScheduler.create();
    final Sinks.Empty<Void> answer = Sinks.empty();
    final DistributedLockService locks = DistributedLockService.builder(new GatedRenewals(
            InMemoryLockBackend.create(time), answer)).lease(LEASE).renewEvery(RENEW).timer(time).build();
    final LockHandle holder = locks.acquire("x").block();

    {
        time.advanceTimeBy(RENEW); // the first renewal is sent; its answer waits for the actor
    }

    @Actor
    public void answer() {
        answer.tryEmitEmpty();
    }

    @Actor
    public void dispose() {
        locks.dispose();
    }

    @Arbiter
    public void arbiter(II_Result r) {
        time.advanceTimeBy(LEASE);
        r.r1 = holder.isHeld() ? 1 : 0;
        AtomicBoolean lost = new AtomicBoolean();
        holder.lost().subscribe(null, error -> { }, () -> lost.set(true));
        r.r2 = lost.get() ? 1 : 0;
        time.dispose();
    }

    /** Passes every call to the store; a renewal reaches it only once {@code answer} completes. */
    private record GatedRenewals(LockBackend store, Sinks.Empty<Void> answer) implements LockBackend {

        @Override
        public Mono<BackendLease> tryAcquire(String name, LockMode mode, String token, Duration lease) {
            return store.tryAcquire(name, mode, token, lease);
        }

        @Override
        public Mono<Boolean> renew(String name, String token, Duration lease) {
            return answer.asMono().then(Mono.defer(() -> store.renew(name, token, lease)));
        }

        @Override
        public Mono<Boolean> release(String name, String token) {
            return store.release(name, token);
        }

        @Override
        public Flux<String> releases() {
            return store.releases();
        }
    }
}
