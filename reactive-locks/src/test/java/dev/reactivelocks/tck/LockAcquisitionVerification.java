package dev.reactivelocks.tck;

import dev.reactivelocks.LockHandle;
import dev.reactivelocks.LockService;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicLong;
import org.reactivestreams.Publisher;
import org.reactivestreams.tck.PublisherVerification;
import org.reactivestreams.tck.TestEnvironment;
import org.testng.annotations.AfterClass;

/**
 * The Reactive Streams TCK run against the acquisition {@code Mono}s of one kind of {@link LockService}.
 *
 * <p>A {@code Mono} emits at most one element: {@code createPublisher(1)} is {@code acquire} of a free name
 * (emits the handle, completes), {@code createPublisher(0)} is {@code tryAcquire} of a held name (completes
 * empty) and the failed publisher is {@code acquire} on a disposed service. Every name is fresh, so the
 * handles the TCK's subscribers never release cannot make one case wait for another.
 */
public abstract class LockAcquisitionVerification extends PublisherVerification<LockHandle> {

    private static final Duration WAIT = Duration.ofSeconds(30);
    private final AtomicLong names = new AtomicLong();
    private LockService service;

    protected LockAcquisitionVerification() {
        // signals expected within 2 s (they come at once; the margin is for loaded machines); 100 ms to see
        // that nothing more arrives
        super(new TestEnvironment(2_000, 100));
    }

    /** @return a new service of the kind under test */
    protected abstract LockService newService();

    private LockService service() {
        if (service == null) {
            service = newService();
        }
        return service;
    }

    private String freshName() {
        return "tck-" + names.incrementAndGet();
    }

    @Override
    public long maxElementsFromPublisher() {
        return 1;
    }

    @Override
    public Publisher<LockHandle> createPublisher(long elements) {
        String name = freshName();
        if (elements == 0) {
            service().acquire(name).block(WAIT); // held by nobody the test sees: tryAcquire completes empty
            return service().tryAcquire(name);
        }
        return service().acquire(name);
    }

    @Override
    public Publisher<LockHandle> createFailedPublisher() {
        LockService closed = newService();
        closed.disposeLater().block(WAIT);
        return closed.acquire(freshName());
    }

    /** Runs once the services of this class are disposed: what {@link #newService()} set up is removed here. */
    protected void afterServicesDisposed() {
    }

    @AfterClass
    public void disposeService() {
        try {
            if (service != null) {
                service.disposeLater().block(WAIT);
            }
        } finally {
            afterServicesDisposed();
        }
    }
}
