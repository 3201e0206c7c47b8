package dev.reactivelocks.cli;

import reactor.blockhound.BlockHound;
import reactor.blockhound.integration.BlockHoundIntegration;

/**
 * The JDK reads {@code net.properties} in a static initializer when the first socket of the JVM is
 * created, which happens on a Reactor Netty thread when {@link PurgeIT} connects to PostgreSQL first.
 */
public final class CliTestBlockHoundIntegration implements BlockHoundIntegration {

    @Override
    public void applyTo(BlockHound.Builder builder) {
        builder.allowBlockingCallsInside("sun.net.NetProperties", "loadDefaultProperties");
    }
}
