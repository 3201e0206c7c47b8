package dev.reactivelocks.internal;

import dev.reactivelocks.LockService;

/**
 * A {@link LockService} that forwards to another one (a prefix view, a watchdog, metrics). Re-entry
 * detection records and checks the innermost service, so every stack of views over one service shares
 * one notion of "this pipeline already holds the lock".
 */
public interface LockServiceView {

    /** @return the service this view forwards to */
    LockService delegate();

    /**
     * @param service a service or a view of one
     * @return the innermost service behind any views
     */
    static Object unwrap(Object service) {
        Object s = service;
        while (s instanceof LockServiceView view) {
            s = view.delegate();
        }
        return s;
    }
}
