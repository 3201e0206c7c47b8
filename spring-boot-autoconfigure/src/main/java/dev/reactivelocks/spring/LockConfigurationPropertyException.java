package dev.reactivelocks.spring;

/**
 * A {@code reactive-locks.*} property is missing, invalid or contradicts another one; thrown while the
 * {@code LockService} bean is created, so the application fails at startup. {@link ReactiveLocksFailureAnalyzer}
 * turns it into Spring Boot's failure report.
 */
final class LockConfigurationPropertyException extends RuntimeException {

    private static final long serialVersionUID = 1L;

    private final String property;
    private final String action;

    LockConfigurationPropertyException(String property, String problem, String action) {
        super("Invalid property '" + property + "': " + problem);
        this.property = property;
        this.action = action;
    }

    LockConfigurationPropertyException(String property, String problem, String action, Throwable cause) {
        this(property, problem, action);
        initCause(cause);
    }

    /** @return the full name of the property at fault, e.g. {@code reactive-locks.file.directory} */
    String property() {
        return property;
    }

    /** @return what to change */
    String action() {
        return action;
    }
}
