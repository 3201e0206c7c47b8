package dev.reactivelocks.vertx;

import reactor.blockhound.BlockHound;
import reactor.blockhound.BlockingOperationError;
import reactor.blockhound.integration.BlockHoundIntegration;

/**
 * Test-only BlockHound settings: one allowance for Vert.x's own shutdown, and every blocking call detected is
 * printed with its stack before it is thrown, so that one detected inside Vert.x or Netty (where the error may
 * be swallowed) is visible in the output.
 */
public class TestBlockHoundIntegration implements BlockHoundIntegration {

    @Override
    public void applyTo(BlockHound.Builder builder) {
        // Vertx.close() shuts its worker pools down from an event loop (ThreadPoolExecutor.shutdownNow takes the
        // executor's lock, which parks when a worker holds it); without this the close can hang in tests.
        builder.allowBlockingCallsInside("io.vertx.core.internal.WorkerPool", "shutdown");
        builder.blockingMethodCallback(method -> {
            BlockingOperationError error = new BlockingOperationError(method);
            if (!expected(error)) {
                System.err.println("BlockHound: blocking call on " + Thread.currentThread().getName() + ": " + method);
                error.printStackTrace();
            }
            throw error;
        });
    }

    /** Blocking calls that {@link BlockHoundIntegrationTest} and the contract suite make on purpose are not printed. */
    private static boolean expected(Throwable error) {
        for (StackTraceElement frame : error.getStackTrace()) {
            if (frame.getClassName().startsWith(BlockHoundIntegrationTest.class.getName())
                    || frame.getClassName().startsWith("dev.reactivelocks.testkit.contract.LockServiceContract")) {
                return true;
            }
        }
        return false;
    }
}
