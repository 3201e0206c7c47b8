package dev.reactivelocks.spring;

import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import org.springframework.aop.framework.Advised;
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

    /**
     * Proxies the bean, or adds the advisor to the proxy it already is (another post-processor's, or one the
     * application made), and in both cases checks its {@link WithLock} methods.
     */
    @Override
    public Object postProcessAfterInitialization(Object bean, String beanName) throws BeansException {
        Object result = super.postProcessAfterInitialization(bean, beanName);
        if (result != bean || (bean instanceof Advised proxy && proxy.indexOf(advisor) >= 0)) {
            check(AopUtils.getTargetClass(bean), beanName, !AopUtils.isJdkDynamicProxy(result));
        }
        return result;
    }

    private void check(Class<?> type, String beanName, boolean subclassProxy) {
        try {
            ReflectionUtils.doWithMethods(type, (Method m) -> check(m, type, subclassProxy),
                    ReflectionUtils.USER_DECLARED_METHODS);
            for (Class<?> api : org.springframework.util.ClassUtils.getAllInterfacesForClassAsSet(type)) {
                for (Method m : api.getMethods()) {
                    check(m, type, subclassProxy);
                }
            }
        } catch (IllegalStateException e) {
            throw new BeanCreationException(beanName, e.getMessage(), e);
        }
    }

    /**
     * Parses {@code m}'s annotation. A proxy that subclasses the bean's class cannot override a final, private
     * or static method: its calls would run without the lock, so such a method fails the startup.
     */
    private void check(Method m, Class<?> type, boolean subclassProxy) {
        if (interceptor.locked(m, type) == null || !subclassProxy) {
            return;
        }
        Method called = AopUtils.getMostSpecificMethod(m, type);
        int modifiers = called.getModifiers();
        String kind = Modifier.isStatic(modifiers) ? "static" : Modifier.isPrivate(modifiers) ? "private"
                : Modifier.isFinal(modifiers) ? "final" : null;
        if (kind != null) {
            throw new IllegalStateException("@WithLock on " + called.getDeclaringClass().getName() + "."
                    + called.getName() + ": the method is " + kind + ", so the Spring proxy cannot intercept it and "
                    + "its calls would run without the lock; make it a non-final, non-private instance method");
        }
    }
}
