package dev.reactivelocks.postgres;

import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

/** When the server is down, the tests fail with instructions instead of a bare connection error. */
class PostgresTestSupportTest {

    @Test
    void aMissingServerFailsWithTheCommandThatStartsIt() {
        assertThatThrownBy(() -> PostgresTestSupport.factory("rl-missing", 1))   // nothing listens on port 1
                .isInstanceOf(AssertionError.class)
                .hasMessageStartingWith("PostgreSQL is not reachable at r2dbc:postgresql://postgres@127.0.0.1:1/test")
                .hasMessageEndingWith("start it with: pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start");
    }
}
