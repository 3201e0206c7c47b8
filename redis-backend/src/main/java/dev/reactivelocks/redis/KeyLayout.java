package dev.reactivelocks.redis;

import io.lettuce.core.cluster.SlotHash;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/**
 * Where the keys and channels of one key prefix {@code P} are.
 *
 * <p>Every key of a name starts with {@code P{<name>}}: {@code :lock}, {@code :wait}, {@code :waiter},
 * {@code :waitx}, {@code :fence} and {@code :permits}. The part between the braces is the Redis Cluster hash tag, so all keys
 * one script touches for a name are in one hash slot. A name whose first character is <code>'&#125;'</code> or
 * {@code '~'} is written with a {@code '~'} before it, so the hash tag is never empty (an empty tag would
 * hash the whole key) and decoding stays unambiguous. The prefix contains no braces
 * ({@link RedisLockConfig.Builder#keyPrefix}).
 *
 * <p>Keys and channels of a slot rather than of a name use the <em>slot tag</em> of the name's slot, the
 * smallest base-36 number that hashes to that slot: on a cluster, the epoch {@code P{<slot tag>}:epoch} and,
 * with sharded pub/sub, the wake channel {@code P{<slot tag>}:wake:<backendId>}. On a standalone server the
 * epoch is {@code P epoch} and the wake channel {@code P wake:<backendId>}, one per prefix.
 */
final class KeyLayout {

    private static final byte[] LOCK = ascii("}:lock");
    private static final byte[] QUEUE = ascii("}:wait");
    private static final byte[] ENTRIES = ascii("}:waiter");
    private static final byte[] EXCLUSIVE = ascii("}:waitx");
    private static final byte[] FENCE = ascii("}:fence");
    private static final byte[] PERMITS = ascii("}:permits");
    private static final byte[] EPOCH = ascii("}:epoch");
    private static final byte[] WAKE = ascii("}:wake:");
    private static final byte ESCAPE = '~';

    private final byte[] prefix;
    private final boolean cluster;
    private final byte[] openTag;
    private final byte[] epoch;
    private final byte[] wake;

    KeyLayout(byte[] prefix, boolean cluster) {
        this.prefix = prefix;
        this.cluster = cluster;
        this.openTag = Names.concat(prefix, ascii("{"), new byte[0]);
        this.epoch = Names.concat(prefix, ascii("epoch"), new byte[0]);
        this.wake = Names.concat(prefix, ascii("wake:"), new byte[0]);
        if (cluster) {
            SlotTags.of(0);   // computes the table now rather than on an event loop
        }
    }

    /**
     * The name's keys, in the order of the acquisition and release scripts' KEYS: lock, queue, entries,
     * exclusive, fence, epoch, permits.
     */
    byte[][] acquireKeys(String name) {
        byte[] tagged = tagged(name);
        byte[] lock = Names.concat(openTag, tagged, LOCK);
        return new byte[][] {lock, Names.concat(openTag, tagged, QUEUE), Names.concat(openTag, tagged, ENTRIES),
                Names.concat(openTag, tagged, EXCLUSIVE), Names.concat(openTag, tagged, FENCE), epochOf(lock),
                Names.concat(openTag, tagged, PERMITS)};
    }

    /** The name's lease hash and permits: the KEYS of the renewal script. */
    byte[][] renewKeys(String name) {
        byte[] tagged = tagged(name);
        return new byte[][] {Names.concat(openTag, tagged, LOCK), Names.concat(openTag, tagged, PERMITS)};
    }

    /** The name's lease hash. */
    byte[] lockKey(String name) {
        return Names.concat(openTag, tagged(name), LOCK);
    }

    /** The {@code SCAN MATCH} pattern of every lease hash of the prefix. */
    byte[] lockPattern() {
        return Names.concat(openTag, ascii("*"), LOCK);
    }

    /** The name of a key matched by {@link #lockPattern()}. */
    String nameOfLockKey(byte[] key) {
        int start = openTag.length + (key.length > openTag.length && key[openTag.length] == ESCAPE ? 1 : 0);
        return Names.decode(Arrays.copyOfRange(key, start, key.length - LOCK.length), 0);
    }

    /** The epoch key that guards the name whose lease hash is {@code lockKey}: per slot on a cluster. */
    private byte[] epochOf(byte[] lockKey) {
        return cluster ? Names.concat(openTag, ascii(SlotTags.of(SlotHash.getSlot(lockKey))), EPOCH) : epoch;
    }

    /**
     * The prefix of the wake channels for the waiters of {@code name}: the script appends the backend id of
     * the waiter. With sharded pub/sub it is in the name's slot, otherwise one for the whole prefix.
     */
    byte[] wakePrefix(String name, boolean sharded) {
        return sharded ? slotWakePrefix(SlotHash.getSlot(lockKey(name))) : wake;
    }

    /** The prefix of the sharded wake channels of {@code slot}. */
    byte[] slotWakePrefix(int slot) {
        return Names.concat(openTag, ascii(SlotTags.of(slot)), WAKE);
    }

    /** The slot of the name's keys on a cluster. */
    int slot(String name) {
        return SlotHash.getSlot(lockKey(name));
    }

    private static byte[] tagged(String name) {
        byte[] encoded = Names.encode(name);
        if (encoded.length > 0 && (encoded[0] == '}' || encoded[0] == ESCAPE)) {
            return Names.concat(new byte[] {ESCAPE}, encoded, new byte[0]);
        }
        return encoded;
    }

    private static byte[] ascii(String s) {
        return s.getBytes(StandardCharsets.US_ASCII);
    }

    /** For each of the 16384 slots, the smallest base-36 number that hashes to it; computed on first use. */
    static final class SlotTags {
        private static final String[] TAGS = new String[SlotHash.SLOT_COUNT];

        static {
            int filled = 0;
            for (int i = 0; filled < TAGS.length; i++) {
                String tag = Integer.toString(i, 36);
                int slot = SlotHash.getSlot(tag.getBytes(StandardCharsets.US_ASCII));
                if (TAGS[slot] == null) {
                    TAGS[slot] = tag;
                    filled++;
                }
            }
        }

        private SlotTags() {
        }

        static String of(int slot) {
            return TAGS[slot];
        }
    }
}
