/**
 * Inter-process locks on lock files: {@link dev.reactivelocks.file.FileLockService} implements
 * {@link dev.reactivelocks.LockService} with shared and exclusive POSIX record locks on the files of a
 * configured lock directory ({@link dev.reactivelocks.file.FileLockConfig}), compatible with the external
 * locks of Python's oslo.concurrency and fasteners. Waiters queue fairly inside the JVM without threads;
 * the blocking file calls run on a bounded scheduler, and waiting for another process polls the file on a
 * timer instead of pinning a thread.
 */
@NullMarked
package dev.reactivelocks.file;

import org.jspecify.annotations.NullMarked;
