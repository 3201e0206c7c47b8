package dev.reactivelocks;

import java.time.Duration;

/** Whether a name is free after a race: a probe {@code tryAcquire}, released at once. */
final class FreeNames {

    private static final Duration PROBE = Duration.ofSeconds(5);

    private FreeNames() {
    }

    /**
     * @param within how long the name may take to become free (releases that settle asynchronously);
     *               {@link Duration#ZERO} probes once
     * @return 1 when no probe could take {@code name} within {@code within}, else 0
     */
    static int leftHeld(LockService locks, String name, Duration within) {
        long deadline = System.nanoTime() + within.toNanos();
        do {
            LockHandle probe = locks.tryAcquire(name).block(PROBE);
            if (probe != null) {
                probe.release().block(PROBE);
                return 0;
            }
            Thread.onSpinWait();
        } while (System.nanoTime() - deadline < 0);
        return 1;
    }
}
