package dev.reactivelocks.stress;

import dev.reactivelocks.LockService;
import org.openjdk.jcstress.annotations.Actor;
import org.openjdk.jcstress.annotations.Arbiter;
import org.openjdk.jcstress.annotations.Expect;
import org.openjdk.jcstress.annotations.JCStressTest;
import org.openjdk.jcstress.annotations.Outcome;
import org.openjdk.jcstress.annotations.State;
import org.openjdk.jcstress.infra.results.III_Result;

/**
 * Two pipelines acquire a free lock exclusively at the same time. r1, r2: each one's grant before any
 * release; r3: the second waiter got the lock after the first released (both end up served).
 */
@JCStressTest
@Outcome(id = {"1, 0, 1", "0, 1, 1"}, expect = Expect.ACCEPTABLE, desc = "one holder, the other queued and served next")
@Outcome(id = "1, 1, .*", expect = Expect.FORBIDDEN, desc = "two exclusive holders at once")
@Outcome(id = "0, 0, .*", expect = Expect.FORBIDDEN, desc = "lock held by nobody yet both wait")
@Outcome(expect = Expect.FORBIDDEN, desc = "a waiter was never served")
@State
public class TwoExclusiveAcquirersStressTest {

    final LockService locks = LockService.inProcess();
    final Probe first = new Probe();
    final Probe second = new Probe();

    @Actor
    public void acquireFirst() {
        locks.acquire("x").subscribe(first);
    }

    @Actor
    public void acquireSecond() {
        locks.acquire("x").subscribe(second);
    }

    @Arbiter
    public void arbiter(III_Result r) {
        r.r1 = first.handle() != null ? 1 : 0;
        r.r2 = second.handle() != null ? 1 : 0;
        Probe holder = r.r1 == 1 ? first : second;
        Probe waiter = r.r1 == 1 ? second : first;
        if (r.r1 + r.r2 == 1) {
            holder.releaseIfGranted();
            r.r3 = waiter.releaseIfGranted();
        }
    }
}
