/**
 * The {@code reactive-locks} command-line tool: {@code run} executes a command while holding a file lock
 * (like util-linux {@code flock(1)} and oslo.concurrency's {@code lockutils-wrapper}), {@code wrapper}
 * gives a command a private lock directory for its lifetime, {@code list} shows which lock files of a
 * directory are held, and {@code purge} deletes the expired leases of the PostgreSQL lock backend.
 * {@link dev.reactivelocks.cli.ReactiveLocksCli} is the entry point; its exit codes are documented there.
 */
@NullMarked
package dev.reactivelocks.cli;

import org.jspecify.annotations.NullMarked;
