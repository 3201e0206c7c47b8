package dev.reactivelocks.file;

import reactor.blockhound.BlockHound;
import reactor.blockhound.integration.BlockHoundIntegration;

/**
 * Teaches BlockHound that locking, unlocking and closing a {@code FileChannel} block (its defaults do not
 * list them), so that every test proves those calls never run on a non-blocking thread such as
 * {@code Schedulers.parallel()}. {@code FileLockServiceTest} checks that the markers are active.
 */
public final class FileLockBlockHoundIntegration implements BlockHoundIntegration {

    @Override
    public void applyTo(BlockHound.Builder builder) {
        builder.markAsBlocking("sun.nio.ch.FileChannelImpl", "tryLock", "(JJZ)Ljava/nio/channels/FileLock;");
        builder.markAsBlocking("sun.nio.ch.FileChannelImpl", "lock", "(JJZ)Ljava/nio/channels/FileLock;");
        builder.markAsBlocking("sun.nio.ch.FileChannelImpl", "implCloseChannel", "()V");
        builder.markAsBlocking("sun.nio.ch.FileLockImpl", "release", "()V");
    }
}
