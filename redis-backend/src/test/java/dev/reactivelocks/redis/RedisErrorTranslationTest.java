package dev.reactivelocks.redis;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/** Configuration errors are recognised in the message forms of Redis 7 and of Redis 6.2 scripts. */
class RedisErrorTranslationTest {

    @Test
    void refusalsAreRecognisedAtTheStartAndAfterA62ScriptLocation() {
        assertThat(RedisLockBackend.refusal("WRONGTYPE Operation against a key holding the wrong kind of value",
                "WRONGTYPE")).isTrue();
        assertThat(RedisLockBackend.refusal("ERR Error running script (call to f_3c1b2d): @user_script:12: "
                + "WRONGTYPE Operation against a key holding the wrong kind of value", "WRONGTYPE")).isTrue();
        assertThat(RedisLockBackend.refusal("ERR Error running script (call to f_3c1b2d): @user_script:3: "
                + "NOPERM this user has no permissions to access one of the keys", "NOPERM")).isTrue();
        assertThat(RedisLockBackend.refusal("LOADING Redis is loading the dataset in memory", "WRONGTYPE"))
                .isFalse();
        assertThat(RedisLockBackend.refusal("ERR value mentions WRONGTYPEISH", "WRONGTYPE")).isFalse();
    }
}
