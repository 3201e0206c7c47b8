package dev.reactivelocks.spring;

import dev.reactivelocks.LockOptions;
import java.lang.reflect.Method;
import java.time.Duration;
import java.util.Optional;
import org.jspecify.annotations.Nullable;
import org.springframework.boot.convert.DurationStyle;
import org.springframework.context.expression.MethodBasedEvaluationContext;
import org.springframework.core.DefaultParameterNameDiscoverer;
import org.springframework.core.ParameterNameDiscoverer;
import org.springframework.expression.EvaluationException;
import org.springframework.expression.Expression;
import org.springframework.expression.ParserContext;
import org.springframework.expression.spel.standard.SpelExpressionParser;
import org.springframework.util.StringValueResolver;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;

/** One {@link WithLock} method, parsed and checked once: its name template, options and kind of result. */
final class LockedMethod {

    private static final SpelExpressionParser PARSER = new SpelExpressionParser();
    private static final ParameterNameDiscoverer PARAMETER_NAMES = new DefaultParameterNameDiscoverer();

    enum Kind { MONO, FLUX, BLOCKING }

    private final Method method;
    private final Expression name;
    private final Kind kind;
    private final boolean ifFree;
    private final WithLock annotation;
    private final @Nullable Duration timeout;

    private LockedMethod(Method method, WithLock annotation, StringValueResolver placeholders) {
        this.method = method;
        this.annotation = annotation;
        this.ifFree = annotation.ifFree();
        Class<?> returns = method.getReturnType();
        this.kind = Mono.class.isAssignableFrom(returns) ? Kind.MONO
                : Flux.class.isAssignableFrom(returns) ? Kind.FLUX : Kind.BLOCKING;
        if (ifFree && returns.isPrimitive() && returns != void.class) {
            throw invalid("ifFree = true needs a return type that can be null, not " + returns);
        }
        try {
            this.name = PARSER.parseExpression(annotation.name(), ParserContext.TEMPLATE_EXPRESSION);
        } catch (RuntimeException e) {
            throw invalid("name \"" + annotation.name() + "\" is not a valid template: " + e.getMessage());
        }
        String text;
        try {
            text = annotation.timeout().isEmpty() ? "" : placeholders.resolveStringValue(annotation.timeout());
        } catch (IllegalArgumentException e) { // an unresolvable placeholder
            throw invalid("timeout \"" + annotation.timeout() + "\" cannot be resolved: " + e.getMessage());
        }
        try {
            this.timeout = text == null || text.isEmpty() ? null : DurationStyle.detectAndParse(text);
        } catch (IllegalArgumentException e) {
            throw invalid("timeout \"" + annotation.timeout() + "\" is not a duration (e.g. 2s, 500ms, PT1M)");
        }
        if (timeout != null && timeout.isNegative()) {
            throw invalid("timeout must be >= 0, was " + timeout);
        }
    }

    /**
     * @param method the annotated method (as declared on the class or an interface)
     * @param annotation its annotation
     * @param placeholders resolves {@code ${...}} in the timeout
     * @return the checked method
     * @throws IllegalStateException naming the method when the annotation is invalid
     */
    static LockedMethod of(Method method, WithLock annotation, StringValueResolver placeholders) {
        return new LockedMethod(method, annotation, placeholders);
    }

    Kind kind() {
        return kind;
    }

    boolean ifFree() {
        return ifFree;
    }

    /** @return what a blocking {@code ifFree} method returns when the lock is busy: empty for Optional, else null */
    @Nullable Object skipped() {
        return method.getReturnType() == Optional.class ? Optional.empty() : null;
    }

    /** @return the lock options, with {@code defaultTimeout} when the annotation sets none */
    LockOptions options(@Nullable Duration defaultTimeout) {
        LockOptions options = LockOptions.of(annotation.mode());
        Duration t = timeout != null ? timeout : defaultTimeout;
        return t == null ? options : options.timeout(t);
    }

    /**
     * @return the lock name for one call
     * @throws IllegalArgumentException when the template yields null or an empty name
     */
    String name(@Nullable Object target, @Nullable Object[] arguments) {
        MethodBasedEvaluationContext context =
                new MethodBasedEvaluationContext(target, method, arguments, PARAMETER_NAMES);
        Object value;
        try {
            value = name.getValue(context);
        } catch (EvaluationException e) {
            throw new IllegalArgumentException("@WithLock name \"" + annotation.name() + "\" of " + describe()
                    + " could not be evaluated: " + e.getMessage(), e);
        }
        if (value == null || value.toString().isEmpty()) {
            throw new IllegalArgumentException("@WithLock name \"" + annotation.name() + "\" of " + describe()
                    + " evaluated to " + (value == null ? "null" : "an empty string"));
        }
        return value.toString();
    }

    private IllegalStateException invalid(String problem) {
        return new IllegalStateException("@WithLock on " + describe() + ": " + problem);
    }

    private String describe() {
        return method.getDeclaringClass().getName() + "." + method.getName();
    }
}
