package dev.reactivelocks.testkit;

import org.junit.jupiter.api.extension.ConditionEvaluationResult;
import org.junit.jupiter.api.extension.ExecutionCondition;
import org.junit.jupiter.api.extension.ExtensionContext;
import org.junit.platform.engine.discovery.DiscoverySelectors;
import org.junit.platform.testkit.engine.EngineTestKit;
import org.junit.platform.testkit.engine.Events;

/**
 * Runs {@link EngineTestKitCase} classes through the Jupiter engine with {@link EngineTestKit}, or enables them in
 * a launcher of one's own ({@link #KEY}).
 */
public final class CaseRunner {

    /** The configuration parameter that enables {@link EngineTestKitCase} classes. */
    public static final String KEY = "reactivelocks.testkit.engine-test-kit-case";

    private CaseRunner() {
    }

    /**
     * @param testClass a class annotated {@code @EngineTestKitCase}
     * @return the events of its tests
     */
    static Events run(Class<?> testClass) {
        return EngineTestKit.engine("junit-jupiter")
                .configurationParameter(KEY, "true")
                .selectors(DiscoverySelectors.selectClass(testClass))
                .execute()
                .testEvents();
    }

    /** Enables a case only when {@link #run(Class)} runs it. */
    static final class OnlyThroughRunner implements ExecutionCondition {
        @Override
        public ConditionEvaluationResult evaluateExecutionCondition(ExtensionContext context) {
            return context.getConfigurationParameter(KEY).isPresent()
                    ? ConditionEvaluationResult.enabled("run through EngineTestKit")
                    : ConditionEvaluationResult.disabled("runs only through EngineTestKit");
        }
    }
}
