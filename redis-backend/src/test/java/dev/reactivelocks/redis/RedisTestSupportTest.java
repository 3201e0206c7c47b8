package dev.reactivelocks.redis;

import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.net.InetAddress;
import java.net.ServerSocket;
import org.junit.jupiter.api.Test;

class RedisTestSupportTest {

    @Test
    void aMissingServerFailsWithTheCommandThatStartsIt() throws Exception {
        int port;
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getByName("127.0.0.1"))) {
            port = s.getLocalPort();   // free again once closed: nothing listens there
        }
        int closedPort = port;
        assertThatThrownBy(() -> RedisTestSupport.client(closedPort))
                .isInstanceOf(AssertionError.class)
                .hasMessageStartingWith("Redis is not reachable at redis://127.0.0.1:" + closedPort)
                .hasMessageEndingWith("These tests need it; start it with: redis-server --daemonize yes --bind 127.0.0.1"
                        + " -::1 --port 6379 --save \"\" --appendonly no --dir /var/lib/redis --logfile /var/log/redis/ci.log");
    }
}
