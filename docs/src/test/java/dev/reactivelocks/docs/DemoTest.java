package dev.reactivelocks.docs;

import static org.assertj.core.api.Assertions.assertThat;

import dev.reactivelocks.LockService;
import org.junit.jupiter.api.Test;

/** The demo's checks pass: no update lost in process, none across two JVMs. */
class DemoTest {

    @Test
    void inProcessChecksPass() {
        LockService locks = LockService.inProcess();
        try {
            assertThat(Demo.exclusiveCounter(locks)).isTrue();
            assertThat(Demo.sharedReadersExclusiveWriters(locks)).isTrue();
            assertThat(Demo.streamedProcessUnderALock(locks)).isTrue();
        } finally {
            locks.dispose();
        }
    }

    @Test
    void twoJvmsKeepEveryIncrementUnderTheFileLock() throws Exception {
        assertThat(Demo.twoJvmsShareAFileLock()).isTrue();
    }
}
