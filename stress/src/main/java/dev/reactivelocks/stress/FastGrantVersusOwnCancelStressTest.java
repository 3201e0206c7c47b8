package dev.reactivelocks.stress;

import dev.reactivelocks.LockHandle;
import dev.reactivelocks.LockService;
import org.openjdk.jcstress.annotations.Actor;
import org.openjdk.jcstress.annotations.Arbiter;
import org.openjdk.jcstress.annotations.Expect;
import org.openjdk.jcstress.annotations.JCStressTest;
import org.openjdk.jcstress.annotations.Outcome;
import org.openjdk.jcstress.annotations.State;
import org.openjdk.jcstress.infra.results.III_Result;
import org.reactivestreams.Subscription;
import reactor.core.publisher.BaseSubscriber;

/**
 * The first request of an acquisition of a free name takes the fast path (the name's state word, then one
 * CAS from NEW straight to granted, then the emission), racing the same subscription's cancel. r1: the
 * subscriber received the handle (then released it); r2: the handle was still held when it arrived (1), or
 * nothing arrived (1 too); r3: the lock is free afterwards.
 */
@JCStressTest
@Outcome(id = "1, 1, 1", expect = Expect.ACCEPTABLE, desc = "grant won: emitted, held, to the subscriber that keeps it")
@Outcome(id = "0, 1, 1", expect = Expect.ACCEPTABLE, desc = "cancel won: the name's hold given back, nothing emitted")
@Outcome(id = ".*, 0, .*", expect = Expect.FORBIDDEN, desc = "emitted a handle a cancel had already released")
@Outcome(id = ".*, .*, 0", expect = Expect.FORBIDDEN, desc = "lock held by nobody yet unavailable")
@State
public class FastGrantVersusOwnCancelStressTest {

    final LockService locks = LockService.inProcess();
    final Requester subscriber = new Requester();
    final Subscription subscription;

    {
        Probe.holdThroughFastPath(locks, "x").release().block(); // the entry is kept: the next grant is fast
        locks.acquire("x").subscribe(subscriber);
        subscription = subscriber.subscription;
    }

    @Actor
    public void request() {
        subscription.request(1);
    }

    @Actor
    public void cancel() {
        subscription.cancel();
    }

    @Arbiter
    public void arbiter(III_Result r) {
        LockHandle h = subscriber.received;
        r.r2 = h == null || subscriber.heldOnArrival ? 1 : 0;
        if (h != null) {
            h.release().block();
        }
        r.r1 = h == null ? 0 : 1;
        r.r3 = Probe.free(locks, "x");
    }

    /** Requests nothing by itself (the actor does), keeps what it receives even after its cancel. */
    static final class Requester extends BaseSubscriber<LockHandle> {

        volatile LockHandle received;
        volatile boolean heldOnArrival;
        Subscription subscription;

        @Override
        protected void hookOnSubscribe(Subscription subscription) {
            this.subscription = subscription; // requested by the actor, on the acquisition itself
        }

        @Override
        protected void hookOnNext(LockHandle value) {
            heldOnArrival = value.isHeld();
            received = value;
        }
    }
}
