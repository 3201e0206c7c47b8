package dev.reactivelocks.testkit.servers;

import static org.junit.platform.engine.discovery.DiscoverySelectors.selectClass;

import dev.reactivelocks.testkit.CaseRunner;
import java.util.List;
import org.junit.platform.launcher.Launcher;
import org.junit.platform.launcher.core.LauncherDiscoveryRequestBuilder;
import org.junit.platform.launcher.core.LauncherFactory;
import org.junit.platform.launcher.listeners.SummaryGeneratingListener;
import org.junit.platform.launcher.listeners.TestExecutionSummary;

/**
 * Runs {@link RedisClientCase} with the JUnit Platform launcher and the Jupiter engine of this JVM's class path,
 * then prints, one line each: the engine's version, the tests run, what the client answered in
 * {@code @AfterAll}, how often its store value had been closed then and has been since, whether it is the same
 * client everywhere, and how many Lettuce threads are still alive (after waiting up to five seconds each).
 */
final class RedisClientCaseMain {

    private RedisClientCaseMain() {
    }

    public static void main(String[] args) throws InterruptedException {
        Launcher launcher = LauncherFactory.create();
        SummaryGeneratingListener listener = new SummaryGeneratingListener();
        launcher.execute(LauncherDiscoveryRequestBuilder.request().selectors(selectClass(RedisClientCase.class))
                .configurationParameter(CaseRunner.KEY, "true").build(), listener);
        TestExecutionSummary summary = listener.getSummary();
        summary.getFailures().forEach(f -> f.getException().printStackTrace());
        List<Thread> lettuce = Thread.getAllStackTraces().keySet().stream()
                .filter(t -> t.getName().startsWith("lettuce-")).toList();
        for (Thread t : lettuce) {
            t.join(5_000);
        }
        System.out.println("jupiter " + new org.junit.jupiter.engine.JupiterTestEngine().getVersion().orElse("?"));
        System.out.println("tests: " + summary.getTestsSucceededCount() + " succeeded, "
                + summary.getTestsFailedCount() + " failed");
        System.out.println("ping in @AfterAll: " + RedisClientCase.ping);
        TestServers.ClientResource resource = RedisClientCase.resource;
        String closesAfter = resource == null ? "?" : Integer.toString(resource.closes());
        System.out.println("closes: " + RedisClientCase.closesBeforeTheStoreWasClosed + " before the store was"
                + " closed, " + closesAfter + " after");
        System.out.println("clients: " + RedisClientCase.CLIENTS.stream().distinct().count() + " of "
                + RedisClientCase.CLIENTS.size());
        System.out.println("lettuce threads alive: " + lettuce.stream().filter(Thread::isAlive).count());
    }
}
