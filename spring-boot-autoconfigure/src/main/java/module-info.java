/**
 * Spring Boot auto-configuration of reactive-locks: one {@code LockService} bean, {@code @WithLock}, meters,
 * health and the {@code locks} endpoint. The backends, Micrometer and the Actuator are optional
 * ({@code requires static}): the auto-configuration uses each only when it is present.
 */
@SuppressWarnings({"requires-automatic", "requires-transitive-automatic"}) // Spring's jars: Automatic-Module-Name
module dev.reactivelocks.spring {
    requires transitive dev.reactivelocks;
    requires transitive dev.reactivelocks.blocking;
    requires transitive spring.boot.autoconfigure;
    requires spring.aop;
    requires spring.beans;
    requires spring.boot;
    requires spring.context;
    requires spring.core;
    requires spring.expression;

    requires static dev.reactivelocks.micrometer;
    requires static dev.reactivelocks.postgres;
    requires static dev.reactivelocks.redis;
    requires static lettuce.core;
    requires static micrometer.core;
    requires static r2dbc.spi;
    requires static spring.boot.actuator;
    requires static spring.boot.health;
    requires static spring.data.redis;

    exports dev.reactivelocks.spring;
    // configuration classes, properties and the interceptor are created and bound by Spring's reflection
    opens dev.reactivelocks.spring to spring.beans, spring.context, spring.core;
}
