/**
 * Micrometer meters for any {@code LockService}: a decorator built on {@code dev.reactivelocks.spi}.
 */
@SuppressWarnings({"requires-automatic", "requires-transitive-automatic"}) // Automatic-Module-Name in their manifests
module dev.reactivelocks.micrometer {
    requires transitive dev.reactivelocks;
    requires transitive micrometer.core;

    exports dev.reactivelocks.micrometer;
}
