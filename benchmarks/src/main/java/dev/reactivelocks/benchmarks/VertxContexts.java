package dev.reactivelocks.benchmarks;

import io.vertx.core.AbstractVerticle;
import io.vertx.core.Context;
import io.vertx.core.DeploymentOptions;
import io.vertx.core.Vertx;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

/** Event-loop contexts on distinct event-loop threads, obtained the public way: one verticle instance each. */
final class VertxContexts {

    private VertxContexts() {
    }

    static List<Context> eventLoops(Vertx vertx, int count) {
        List<Context> contexts = Collections.synchronizedList(new ArrayList<>());
        vertx.deployVerticle(() -> new AbstractVerticle() {
            @Override
            public void start() {
                contexts.add(context);
            }
        }, new DeploymentOptions().setInstances(count)).await();
        return List.copyOf(contexts);
    }
}
