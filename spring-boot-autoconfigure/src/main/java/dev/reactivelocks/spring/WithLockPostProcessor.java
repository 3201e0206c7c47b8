package dev.reactivelocks.spring;

import java.lang.reflect.Method;
import org.springframework.aop.framework.autoproxy.AbstractBeanFactoryAwareAdvisingPostProcessor;
import org.springframework.aop.support.AopUtils;
import org.springframework.aop.support.DefaultPointcutAdvisor;
import org.springframework.aop.support.annotation.AnnotationMatchingPointcut;
import org.springframework.beans.BeansException;
import org.springframework.beans.factory.BeanCreationException;
import org.springframework.util.ReflectionUtils;

/**
 * Proxies beans with {@link WithLock} methods (on their class or on an interface they implement), and checks
 * every such method's annotation when the bean is created.
 */
final class WithLockPostProcessor extends AbstractBeanFactoryAwareAdvisingPostProcessor {

    private static final long serialVersionUID = 1L;

    private final transient WithLockInterceptor interceptor;

    WithLockPostProcessor(WithLockInterceptor interceptor) {
        this.interceptor = interceptor;
        this.advisor = new DefaultPointcutAdvisor(new AnnotationMatchingPointcut(null, WithLock.class, true),
                interceptor);
        setProxyTargetClass(true);
        setBeforeExistingAdvisors(true);
    }

    @Override
    public Object postProcessAfterInitialization(Object bean, String beanName) throws BeansException {
        Object result = super.postProcessAfterInitialization(bean, beanName);
        if (result != bean) {
            check(AopUtils.getTargetClass(bean), beanName);
        }
        return result;
    }

    private void check(Class<?> type, String beanName) {
        try {
            ReflectionUtils.doWithMethods(type, (Method m) -> interceptor.locked(m, type),
                    ReflectionUtils.USER_DECLARED_METHODS);
            for (Class<?> api : org.springframework.util.ClassUtils.getAllInterfacesForClassAsSet(type)) {
                for (Method m : api.getMethods()) {
                    interceptor.locked(m, type);
                }
            }
        } catch (IllegalStateException e) {
            throw new BeanCreationException(beanName, e.getMessage(), e);
        }
    }
}
