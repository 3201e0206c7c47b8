package dev.reactivelocks.sample;

import reactor.blockhound.BlockHound;
import reactor.blockhound.integration.BlockHoundIntegration;

/**
 * Allows the JDK's one-time read of {@code net.properties} when the first socket of the JVM is opened on a
 * Reactor thread (a lazy class initialization, not a blocking call of the application).
 */
public class TestBlockHoundIntegration implements BlockHoundIntegration {

    @Override
    public void applyTo(BlockHound.Builder builder) {
        builder.allowBlockingCallsInside("sun.net.NetProperties", "loadDefaultProperties");
    }
}
