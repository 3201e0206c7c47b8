package dev.reactivelocks.micrometer;

/**
 * Names and tag keys of the meters that a {@link MeteredLockService} registers. All names start with
 * {@code reactivelocks.}; timers report in the registry's base time unit (seconds for most registries),
 * gauges and counters declare a base unit.
 *
 * <table>
 *   <caption>Meters</caption>
 *   <tr><th>name</th><th>type</th><th>base unit</th><th>tags</th><th>measures</th></tr>
 *   <tr><td>{@value #WAIT}</td><td>timer</td><td>seconds</td><td>service, mode [, lock]</td>
 *       <td>time from the subscription's first request (for scopes: the subscription) to the grant, for
 *       every granted acquisition, including {@code tryAcquire} grants</td></tr>
 *   <tr><td>{@value #HOLD}</td><td>timer</td><td>seconds</td><td>service, mode [, lock]</td>
 *       <td>time from the grant until the handle's release is first subscribed, or, in {@code withLock} and
 *       {@code withLockMany}, until the scope completes, errors or is cancelled; recorded once per grant</td></tr>
 *   <tr><td>{@value #PENDING}</td><td>gauge</td><td>{@value #UNIT_ACQUISITIONS}</td><td>service [, lock]</td>
 *       <td>acquisitions requested through the instrumented service and not yet granted or ended</td></tr>
 *   <tr><td>{@value #HELD}</td><td>gauge</td><td>{@value #UNIT_LOCKS}</td><td>service [, lock]</td>
 *       <td>grants handed out by the instrumented service and not yet released</td></tr>
 *   <tr><td>{@value #TIMEOUTS}</td><td>counter</td><td>{@value #UNIT_ACQUISITIONS}</td><td>service, mode [, lock]</td>
 *       <td>acquisitions that ended with {@link dev.reactivelocks.LockTimeoutException}</td></tr>
 *   <tr><td>{@value #CANCELS}</td><td>counter</td><td>{@value #UNIT_ACQUISITIONS}</td><td>service, mode [, lock]</td>
 *       <td>acquisitions cancelled by their subscriber after the request and before the grant</td></tr>
 *   <tr><td>{@value #REJECTIONS}</td><td>counter</td><td>{@value #UNIT_ACQUISITIONS}</td>
 *       <td>service, mode [, lock]</td>
 *       <td>acquisitions that ended with {@link dev.reactivelocks.LockUnavailableException} (pending limit)</td></tr>
 *   <tr><td>{@value #ERRORS}</td><td>counter</td><td>{@value #UNIT_ACQUISITIONS}</td>
 *       <td>service, mode, exception [, lock]</td>
 *       <td>acquisitions that ended with any other error, e.g. re-entry
 *       ({@link dev.reactivelocks.IllegalLockStateException}) or a disposed service
 *       ({@link dev.reactivelocks.LockServiceClosedException}); {@code exception} is the simple class name</td></tr>
 *   <tr><td>{@value #BUSY}</td><td>counter</td><td>{@value #UNIT_ACQUISITIONS}</td><td>service, mode [, lock]</td>
 *       <td>{@code tryAcquire} calls that completed empty because the lock was busy</td></tr>
 * </table>
 *
 * <p>The {@code lock} tag is present only when {@link MeteredLockServiceBuilder#lockNameTag(boolean)} is
 * enabled. Extra tags given to {@link MeteredLockServiceBuilder#tags(Iterable)} are added to every meter.
 */
public final class LockMeters {

    /** Timer: wait from request to grant. */
    public static final String WAIT = "reactivelocks.wait";
    /** Timer: hold from grant to release. */
    public static final String HOLD = "reactivelocks.hold";
    /** Gauge: acquisitions waiting. */
    public static final String PENDING = "reactivelocks.pending";
    /** Gauge: grants not yet released. */
    public static final String HELD = "reactivelocks.held";
    /** Counter: acquisitions that timed out. */
    public static final String TIMEOUTS = "reactivelocks.timeouts";
    /** Counter: acquisitions cancelled before the grant. */
    public static final String CANCELS = "reactivelocks.cancels";
    /** Counter: acquisitions rejected because the pending limit was reached. */
    public static final String REJECTIONS = "reactivelocks.rejections";
    /** Counter: acquisitions that failed with any other error. */
    public static final String ERRORS = "reactivelocks.errors";
    /** Counter: {@code tryAcquire} calls that found the lock busy. */
    public static final String BUSY = "reactivelocks.busy";

    /** Tag key: the instrumented service's name. */
    public static final String TAG_SERVICE = "service";
    /** Tag key: {@code exclusive} or {@code shared}. */
    public static final String TAG_MODE = "mode";
    /** Tag key: the lock name, only when enabled. */
    public static final String TAG_LOCK = "lock";
    /** Tag key: the simple class name of the error, on {@link #ERRORS} only. */
    public static final String TAG_EXCEPTION = "exception";

    /** Base unit of {@link #PENDING} and of the counters. */
    public static final String UNIT_ACQUISITIONS = "acquisitions";
    /** Base unit of {@link #HELD}. */
    public static final String UNIT_LOCKS = "locks";

    private LockMeters() {
    }
}
