/**
 * A Redis {@code LockBackend} over Lettuce, for {@code DistributedLockService}.
 */
@SuppressWarnings({"requires-automatic", "requires-transitive-automatic"}) // Automatic-Module-Name in their manifests
module dev.reactivelocks.redis {
    requires transitive dev.reactivelocks;
    requires transitive lettuce.core;

    exports dev.reactivelocks.redis;
}
