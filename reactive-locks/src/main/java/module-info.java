/**
 * reactive-locks: named locks acquired as {@code Mono<LockHandle>}, without blocking any thread.
 *
 * <p>Tiers: the API ({@link dev.reactivelocks}, {@link dev.reactivelocks.file},
 * {@link dev.reactivelocks.distributed}, {@link dev.reactivelocks.process}) and the SPI
 * ({@link dev.reactivelocks.spi}: lock backends and decorators) are exported to everyone;
 * {@code dev.reactivelocks.internal} only to this project's own modules.
 */
// "module": the project's modules named below are compiled after this one; reactor-core and reactive-streams
// are automatic modules named by their Automatic-Module-Name
@SuppressWarnings({"module", "requires-transitive-automatic"})
module dev.reactivelocks {
    requires transitive org.reactivestreams;
    requires transitive reactor.core;
    requires static transitive org.jspecify;

    exports dev.reactivelocks;
    exports dev.reactivelocks.distributed;
    exports dev.reactivelocks.file;
    exports dev.reactivelocks.process;
    exports dev.reactivelocks.spi;

    // internal: for this project's own modules only (one line per package, with this same list)
    exports dev.reactivelocks.internal to dev.reactivelocks.blocking, dev.reactivelocks.cli,
            dev.reactivelocks.micrometer, dev.reactivelocks.spring, dev.reactivelocks.testkit, dev.reactivelocks.vertx;
}
