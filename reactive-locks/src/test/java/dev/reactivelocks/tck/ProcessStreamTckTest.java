package dev.reactivelocks.tck;

import dev.reactivelocks.process.ProcessExecutor;
import dev.reactivelocks.process.ProcessOutput;
import dev.reactivelocks.process.ProcessSpec;
import java.time.Duration;
import org.reactivestreams.Publisher;
import org.reactivestreams.tck.PublisherVerification;
import org.reactivestreams.tck.TestEnvironment;
import org.testng.annotations.AfterClass;

/**
 * The Reactive Streams TCK against {@link ProcessExecutor#stream}: {@code createPublisher(n)} runs
 * {@code seq 1 n}, whose output is cut into {@code n} lines; the failed publisher streams on a disposed
 * executor.
 */
public class ProcessStreamTckTest extends PublisherVerification<ProcessOutput> {

    private static final Duration WAIT = Duration.ofSeconds(30);
    private final ProcessExecutor exec = ProcessExecutor.create();

    public ProcessStreamTckTest() {
        // a child is spawned per case: allow for a loaded machine; 100 ms to see that nothing more arrives
        super(new TestEnvironment(5_000, 100));
    }

    @Override
    public long maxElementsFromPublisher() {
        return 100_000;
    }

    @Override
    public Publisher<ProcessOutput> createPublisher(long elements) {
        ProcessSpec spec = elements == 0 ? ProcessSpec.command("true").build()
                : ProcessSpec.command("seq", "1", Long.toString(elements)).build();
        return exec.stream(spec);
    }

    @Override
    public Publisher<ProcessOutput> createFailedPublisher() {
        ProcessExecutor disposed = ProcessExecutor.create();
        disposed.disposeLater().block(WAIT);
        return disposed.stream(ProcessSpec.command("true").build());
    }

    @AfterClass
    public void disposeExecutor() {
        exec.disposeLater().block(WAIT);
    }
}
