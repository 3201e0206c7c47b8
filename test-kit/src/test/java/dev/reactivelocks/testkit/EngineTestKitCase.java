package dev.reactivelocks.testkit;

import java.lang.annotation.ElementType;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Marks a test class that exists only to be run by another test through {@link CaseRunner#run(Class)}: when
 * the build tool or an IDE discovers it directly, it is skipped.
 */
@Retention(RetentionPolicy.RUNTIME)
@Target(ElementType.TYPE)
@ExtendWith(CaseRunner.OnlyThroughRunner.class)
public @interface EngineTestKitCase {
}
