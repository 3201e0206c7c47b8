package dev.reactivelocks.testkit.servers;

import reactor.blockhound.BlockHound;
import reactor.blockhound.integration.BlockHoundIntegration;

/**
 * Lets BlockHound accept the blocking calls that logging in to a PostgreSQL server with a password makes on a
 * Reactor Netty thread: {@code r2dbc-postgresql} builds its SCRAM client there
 * ({@code com.ongres.scram.client.ScramClient.Builder.build}), which draws the client nonce from
 * {@code SecureRandom} (a read of {@code /dev/urandom}, at every new connection) and, the first time, initializes
 * the JDK's JCE policy ({@code javax.crypto.JceSecurity}, which reads policy files). Both are the driver's and the
 * JDK's, not the code under test's. Registered through {@code META-INF/services}, so it applies wherever the test
 * kit and BlockHound are both on the class path.
 */
public final class TestServersBlockHoundIntegration implements BlockHoundIntegration {

    /** Created by BlockHound's service loader. */
    public TestServersBlockHoundIntegration() {
    }

    @Override
    public void applyTo(BlockHound.Builder builder) {
        builder.allowBlockingCallsInside("com.ongres.scram.client.ScramClient$Builder", "build");
    }
}
