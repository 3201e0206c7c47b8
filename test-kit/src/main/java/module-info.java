/**
 * Test support for reactive-locks: {@code @TempLockDir}, {@code LockFixture}, and PostgreSQL and Redis
 * servers for tests ({@code TestServers}). The drivers, BlockHound and the embedded servers are optional
 * ({@code requires static}): each is needed only by the part of the kit that uses it.
 */
@SuppressWarnings({"requires-automatic", "requires-transitive-automatic"}) // see the embedded servers below
module dev.reactivelocks.testkit {
    requires transitive dev.reactivelocks;
    requires transitive org.junit.jupiter.api;
    requires org.junit.platform.commons;
    // the contract suites (dev.reactivelocks.testkit.contract) assert with AssertJ and reactor-test, and detect
    // blocking calls with BlockHound
    requires org.assertj.core;
    requires reactor.test;
    requires reactor.blockhound;

    requires static lettuce.core;
    requires static org.apache.commons.compress;
    requires static org.tukaani.xz;
    requires static r2dbc.postgresql;
    requires static r2dbc.spi;
    // com.github.codemonstur:embedded-redis declares no module name: this is the name derived from its jar file,
    // read at compile time only (requires static); the PostgreSQL binaries are read as resources of the class path
    requires static embedded.redis;

    exports dev.reactivelocks.testkit;
    exports dev.reactivelocks.testkit.contract;
    exports dev.reactivelocks.testkit.servers;

    // JUnit creates the extension and reads the annotations by reflection
    opens dev.reactivelocks.testkit to org.junit.platform.commons;

    provides reactor.blockhound.integration.BlockHoundIntegration
            with dev.reactivelocks.testkit.servers.TestServersBlockHoundIntegration;
}
