/**
 * reactive-locks for blocking code: try-with-resources handles and {@code java.util.concurrent} lock views
 * over any {@code LockService}.
 */
module dev.reactivelocks.blocking {
    requires transitive dev.reactivelocks;

    exports dev.reactivelocks.blocking;
}
