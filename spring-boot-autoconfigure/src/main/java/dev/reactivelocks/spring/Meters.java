package dev.reactivelocks.spring;

import dev.reactivelocks.LockService;
import dev.reactivelocks.micrometer.MeteredLockService;
import io.micrometer.core.instrument.MeterRegistry;
import org.springframework.beans.factory.config.ConfigurableListableBeanFactory;
import org.springframework.util.ClassUtils;

/** Wraps the service in a {@link MeteredLockService} when Micrometer, the metrics module and a registry are there. */
final class Meters {

    private static final boolean PRESENT = ClassUtils.isPresent("dev.reactivelocks.micrometer.MeteredLockService",
            Meters.class.getClassLoader())
            && ClassUtils.isPresent("io.micrometer.core.instrument.MeterRegistry", Meters.class.getClassLoader());

    private Meters() {
    }

    static LockService bind(LockService service, ReactiveLocksProperties props, ConfigurableListableBeanFactory beans) {
        if (!PRESENT || !props.getMetrics().isEnabled()) {
            return service;
        }
        return Registry.bind(service, props, beans);
    }

    /** Separate so that Micrometer's types are loaded only when present. */
    private static final class Registry {

        static LockService bind(LockService service, ReactiveLocksProperties props,
                                ConfigurableListableBeanFactory beans) {
            MeterRegistry registry = Beans.optional(beans, MeterRegistry.class, LockServiceFactory.BEAN_NAME);
            if (registry == null) {
                return service;
            }
            try {
                return MeteredLockService.builder(service, registry)
                        .serviceName(props.getMetrics().getServiceName())
                        .lockNameTag(props.getMetrics().isLockNameTag())
                        .build();
            } catch (IllegalArgumentException | IllegalStateException e) {
                // empty, or the name of another lock service metered in this registry
                throw new LockConfigurationPropertyException(LockServiceFactory.P + "metrics.service-name",
                        e.getMessage(), "Set reactive-locks.metrics.service-name to a non-empty name that no "
                                + "other metered lock service of the registry uses.", e);
            }
        }
    }
}
