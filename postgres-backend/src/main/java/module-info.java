/**
 * A PostgreSQL {@code LockBackend} over R2DBC, for {@code DistributedLockService}.
 */
@SuppressWarnings({"requires-automatic", "requires-transitive-automatic"}) // Automatic-Module-Name in their manifests
module dev.reactivelocks.postgres {
    requires transitive dev.reactivelocks;
    requires transitive r2dbc.spi;
    requires r2dbc.postgresql;

    exports dev.reactivelocks.postgres;
}
