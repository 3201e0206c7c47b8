package dev.reactivelocks.spring;

import dev.reactivelocks.LockService;
import org.springframework.beans.factory.ObjectProvider;
import org.springframework.beans.factory.config.ConfigurableListableBeanFactory;
import org.springframework.boot.autoconfigure.AutoConfiguration;
import org.springframework.boot.autoconfigure.condition.ConditionalOnClass;
import org.springframework.boot.autoconfigure.condition.ConditionalOnMissingBean;
import org.springframework.boot.autoconfigure.condition.ConditionalOnProperty;
import org.springframework.boot.context.properties.EnableConfigurationProperties;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.context.annotation.Role;
import org.springframework.beans.factory.config.BeanDefinition;

/**
 * Auto-configuration of reactive-locks: one {@link LockService} bean chosen by {@code reactive-locks.type}
 * (unless the application defines its own), Micrometer meters when a {@code MeterRegistry} bean exists, the
 * {@link WithLock} annotation, a health indicator ({@code lockService}) and the {@code locks} Actuator endpoint. Off with
 * {@code reactive-locks.enabled=false}.
 */
@AutoConfiguration
@ConditionalOnProperty(prefix = ReactiveLocksProperties.PREFIX, name = "enabled", havingValue = "true",
        matchIfMissing = true)
@EnableConfigurationProperties(ReactiveLocksProperties.class)
public class ReactiveLocksAutoConfiguration {

    /** Created by Spring Boot when the auto-configuration applies. */
    public ReactiveLocksAutoConfiguration() {
    }

    /**
     * The lock service of {@code reactive-locks.*}; disposed when the context closes (see the guide for the
     * rule on locks still held then).
     *
     * @param properties the bound properties
     * @param beans the bean factory, for the backend's connection factory, client and meter registry
     * @return the service
     */
    @Bean(name = LockServiceFactory.BEAN_NAME)
    @ConditionalOnMissingBean(LockService.class)
    public LockService reactiveLocksLockService(ReactiveLocksProperties properties,
                                                ConfigurableListableBeanFactory beans) {
        return new LockServiceFactory(properties, beans).create();
    }

    /**
     * Applies {@link WithLock} to the beans that use it, with the application's {@link LockService}.
     *
     * @param services the lock service, looked up at the first locked call
     * @param properties the properties, for {@code reactive-locks.default-timeout}
     * @param beans resolves {@code ${...}} placeholders in timeouts
     * @return the post-processor
     */
    @Bean
    @Role(BeanDefinition.ROLE_INFRASTRUCTURE)
    static org.springframework.beans.factory.config.BeanPostProcessor reactiveLocksWithLockPostProcessor(
            ObjectProvider<LockService> services, ObjectProvider<ReactiveLocksProperties> properties,
            ConfigurableListableBeanFactory beans) {
        WithLockInterceptor interceptor = new WithLockInterceptor(services::getObject,
                () -> LockServiceFactory.defaultTimeout(properties.getObject()), beans::resolveEmbeddedValue);
        return new WithLockPostProcessor(interceptor);
    }

    /** The health of the lock service's backend, when Spring Boot's health support is on the classpath. */
    @Configuration(proxyBeanMethods = false)
    @ConditionalOnClass(name = "org.springframework.boot.health.contributor.ReactiveHealthIndicator")
    static class Healths {

        @Bean
        @ConditionalOnMissingBean(name = "lockServiceHealthIndicator")
        org.springframework.boot.health.contributor.ReactiveHealthIndicator lockServiceHealthIndicator(
                ObjectProvider<LockService> services) {
            return new LockServiceHealthIndicator(services);
        }
    }

    /** The {@code locks} Actuator endpoint, when Actuator is on the classpath. */
    @Configuration(proxyBeanMethods = false)
    @ConditionalOnClass(name = "org.springframework.boot.actuate.endpoint.annotation.Endpoint")
    static class Endpoints {

        @Bean
        @ConditionalOnMissingBean
        LocksEndpoint locksEndpoint(ObjectProvider<LockService> services) {
            return new LocksEndpoint(services);
        }
    }
}
