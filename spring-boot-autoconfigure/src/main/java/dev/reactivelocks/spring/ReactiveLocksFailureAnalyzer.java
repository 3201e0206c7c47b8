package dev.reactivelocks.spring;

import org.springframework.boot.diagnostics.AbstractFailureAnalyzer;
import org.springframework.boot.diagnostics.FailureAnalysis;

/** Reports a startup failure caused by the {@code reactive-locks.*} properties, naming the property. */
final class ReactiveLocksFailureAnalyzer extends AbstractFailureAnalyzer<LockConfigurationPropertyException> {

    @Override
    protected FailureAnalysis analyze(Throwable rootFailure, LockConfigurationPropertyException cause) {
        return new FailureAnalysis(cause.getMessage(), cause.action(), cause);
    }
}
