package dev.reactivelocks.redis;

import reactor.blockhound.BlockHound;
import reactor.blockhound.integration.BlockHoundIntegration;

/**
 * Allows the JDK's one-time read of {@code net.properties} when the first socket of the JVM is opened on a
 * Reactor thread (a lazy class initialization, not a blocking call of this library), and the test JVM's
 * console logging of Lettuce's event loops (Netty registers them as non-blocking threads), and the short locks
 * Lettuce takes on them.
 */
public class TestBlockHoundIntegration implements BlockHoundIntegration {

    @Override
    public void applyTo(BlockHound.Builder builder) {
        builder.allowBlockingCallsInside("sun.net.NetProperties", "loadDefaultProperties");
        // Lettuce logs reconnections through Netty's logger, which falls back to java.util.logging here;
        // its first record initializes the handlers under a lock and each record is written to stderr
        builder.allowBlockingCallsInside("java.util.logging.Logger", "log");
        // Lettuce guards each command write with a lock held for a few instructions; with many services
        // writing through one connection from Reactor's threads it is sometimes contended (a brief park)
        builder.allowBlockingCallsInside("io.lettuce.core.protocol.SharedLock", "incrementWriters");
        builder.allowBlockingCallsInside("io.lettuce.core.protocol.SharedLock", "doExclusive");
        // each new connection object builds its command proxies under one JVM-wide lock of Lettuce's; a cluster
        // pub/sub connection opened on an event loop (a node connection for SSUBSCRIBE) may find it taken: the
        // error thrown from that park left a dead waiter in the lock's queue, and the next thread waiting for the
        // lock was never woken (a whole-module run hung in the cluster's held-by-nobody races)
        builder.allowBlockingCallsInside("io.lettuce.core.internal.AbstractInvocationHandler$MethodTranslator", "of");
        // a cluster connection caches the node connection of each slot under a lock of its own for a few
        // instructions, which a topology refresh (setPartitions) takes too: the first command to a slot, written
        // from an event loop, sometimes finds it taken (the lambda is the one Lettuce 7.7 runs in
        // getWriteConnection, synchronously or when the node connection opens)
        builder.allowBlockingCallsInside("io.lettuce.core.cluster.PooledClusterConnectionProvider",
                "lambda$getWriteConnection$1");
    }
}
