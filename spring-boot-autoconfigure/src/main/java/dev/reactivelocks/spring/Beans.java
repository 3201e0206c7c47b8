package dev.reactivelocks.spring;

import java.util.function.Supplier;
import org.jspecify.annotations.Nullable;
import org.springframework.beans.factory.config.ConfigurableListableBeanFactory;

/** Looks up the application's beans the lock service is built on, so that they outlive the service. */
final class Beans {

    private Beans() {
    }

    /**
     * @return the only bean of {@code type}, recorded as a dependency of {@code dependent} so that the context
     *         destroys it after the lock service (which releases its locks through it)
     */
    static <T> T unique(ConfigurableListableBeanFactory beans, Class<T> type, String dependent,
                        Supplier<? extends RuntimeException> missing) {
        T bean = optional(beans, type, dependent);
        if (bean == null) {
            throw missing.get();
        }
        return bean;
    }

    /** @return the only (or primary) bean of {@code type}, or null; recorded as a dependency of {@code dependent} */
    static <T> @Nullable T optional(ConfigurableListableBeanFactory beans, Class<T> type, String dependent) {
        T bean = beans.getBeanProvider(type).getIfUnique();
        if (bean != null) {
            for (String name : beans.getBeanNamesForType(type)) {
                beans.registerDependentBean(name, dependent);
            }
        }
        return bean;
    }
}
