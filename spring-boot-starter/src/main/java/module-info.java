/**
 * The Spring Boot starter of reactive-locks: no code of its own, the core, the blocking bridge and the
 * auto-configuration.
 */
module dev.reactivelocks.spring.starter {
    requires transitive dev.reactivelocks;
    requires transitive dev.reactivelocks.blocking;
    requires transitive dev.reactivelocks.spring;
}
