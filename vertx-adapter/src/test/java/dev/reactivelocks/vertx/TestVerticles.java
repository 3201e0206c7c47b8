package dev.reactivelocks.vertx;

import io.vertx.core.Context;
import io.vertx.core.DeploymentOptions;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.ThreadingModel;
import io.vertx.core.VerticleBase;
import io.vertx.core.Vertx;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;

/** Deploys empty verticles whose contexts tests act on, and runs actions on contexts. */
final class TestVerticles {

    private TestVerticles() {
    }

    /** A deployed verticle: its context, its deployment id and the thread it started on. */
    record Deployed(Vertx vertx, Context context, String deploymentId, Thread startThread) {

        Future<Void> undeploy() {
            return vertx.undeploy(deploymentId);
        }

        <T> Future<T> on(Supplier<Future<T>> action) {
            return TestVerticles.on(context, action);
        }
    }

    static Deployed deploy(Vertx vertx, ThreadingModel model) throws Exception {
        Probe probe = new Probe();
        String id = vertx.deployVerticle(probe, new DeploymentOptions().setThreadingModel(model))
                .await(10, TimeUnit.SECONDS);
        return new Deployed(vertx, probe.started, id, probe.startThread);
    }

    /** Runs {@code action} on {@code context} and relays its future (completed wherever it completes). */
    static <T> Future<T> on(Context context, Supplier<Future<T>> action) {
        Promise<T> result = Promise.promise();
        context.runOnContext(v -> {
            try {
                action.get().onComplete(result);
            } catch (Throwable t) {
                result.fail(t);
            }
        });
        return result.future();
    }

    private static final class Probe extends VerticleBase {
        volatile Context started;
        volatile Thread startThread;

        @Override
        public Future<?> start() {
            started = context;
            startThread = Thread.currentThread();
            return Future.succeededFuture();
        }
    }
}
