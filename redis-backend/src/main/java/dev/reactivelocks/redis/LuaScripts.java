package dev.reactivelocks.redis;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;

/**
 * The Lua scripts of {@link RedisLockBackend}, read from the {@code .lua} resources next to this class. Each
 * resource starts with a comment on its keys, arguments and reply; a script is its shared parts
 * ({@code clock.lua}, {@code queue.lua}) followed by its own file, loaded once per class loader.
 */
final class LuaScripts {

    /** Grants a lease or queues the caller. */
    static final Script ACQUIRE = load("clock.lua", "queue.lua", "acquire.lua");
    /** Extends a live lease. */
    static final Script RENEW = load("clock.lua", "renew.lua");
    /**
     * Deletes a token's lease (then hands the lock off to the waiters that may pass, announcing each grant with
     * one publish) or its queue entry (then wakes the waiters that may pass).
     */
    static final Script RELEASE = load("clock.lua", "queue.lua", "release.lua");
    /** Turns an exclusive lease into a shared one, then hands the lock to the shared waiters that may pass. */
    static final Script DOWNGRADE = load("clock.lua", "queue.lua", "downgrade.lua");
    /** Reports the stored leases of a name. */
    static final Script INSPECT = load("clock.lua", "inspect.lua");
    /** Reports the live leases and the live queue entries of a name, read-only (inspection). */
    static final Script LOCK_STATE = load("clock.lua", "lock-state.lua");
    /** Deletes the expired leases of a name. */
    static final Script PRUNE = load("clock.lua", "prune.lua");

    private LuaScripts() {
    }

    /** Initialises this class (reads every script) on the calling thread; a blocking call. */
    static void init() {
        // the static fields above are read when this method is first called
    }

    private static Script load(String... resources) {
        StringBuilder source = new StringBuilder();
        for (String resource : resources) {
            try (InputStream in = LuaScripts.class.getResourceAsStream(resource)) {
                if (in == null) {
                    throw new IllegalStateException("missing resource " + resource + " next to " + LuaScripts.class);
                }
                source.append(new String(in.readAllBytes(), StandardCharsets.UTF_8));
            } catch (IOException e) {
                throw new UncheckedIOException("cannot read " + resource, e);
            }
        }
        return new Script(resources[resources.length - 1], source.toString());
    }

    /** A Lua script with its SHA-1 digest, computed once. */
    static final class Script {
        /** The resource of the script's own part, e.g. {@code acquire.lua}. */
        final String name;
        final String source;
        final String sha;

        Script(String name, String source) {
            this.name = name;
            this.source = source;
            this.sha = Names.sha1(source.getBytes(StandardCharsets.UTF_8));
        }
    }
}
