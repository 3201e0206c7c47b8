package dev.reactivelocks.file;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.MappedByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.ReadableByteChannel;
import java.nio.channels.WritableByteChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The {@code fcntl} calls of one OS lock, counted on the channel that makes them: an uncontended grant and
 * its release cost one call each, exclusive or shared, and the atomic downgrade three. (That the ranges
 * exclude peers of other processes, also during a downgrade, is {@link FileLockDowngradeTest}'s and
 * {@link FilePythonInteropTest}'s.)
 */
class OsLockTest {

    @TempDir
    Path tmp;

    private FileChannel file;
    private CountingChannel channel;

    @BeforeEach
    void setUp() throws IOException {
        file = FileChannel.open(tmp.resolve("orders"), StandardOpenOption.CREATE, StandardOpenOption.READ,
                StandardOpenOption.WRITE);
        channel = new CountingChannel(file);
    }

    @AfterEach
    void tearDown() throws IOException {
        file.close();
    }

    @Test
    void anExclusiveLockIsOneFcntlCallToTakeAndOneToRelease() throws IOException {
        OsLock lock = OsLock.tryLock(channel, false);
        assertThat(lock).isNotNull();
        assertThat(lock.isShared()).isFalse();
        assertThat(channel.locks).as("lock calls").isEqualTo(1);

        lock.release();
        assertThat(channel.unlocks).as("unlock calls").isEqualTo(1);
        assertThat(file.tryLock(0L, Long.MAX_VALUE, false)).as("the whole file is free again").isNotNull()
                .satisfies(FileLock::release);
    }

    @Test
    void aSharedLockIsOneFcntlCallToTakeAndOneToRelease() throws IOException {
        OsLock lock = OsLock.tryLock(channel, true);
        assertThat(lock).isNotNull();
        assertThat(lock.isShared()).isTrue();
        lock.release();
        assertThat(channel.locks).as("lock calls").isEqualTo(1);
        assertThat(channel.unlocks).as("unlock calls").isEqualTo(1);
    }

    @Test
    void aDowngradeIsThreeFcntlCallsAndItsReleaseFreesBothRanges() throws IOException {
        OsLock lock = OsLock.tryLock(channel, false);
        assertThat(lock).isNotNull();
        lock.downgrade();
        assertThat(lock.isShared()).isTrue();
        assertThat(lock.isValid()).isTrue();
        assertThat(channel.locks).as("lock calls: the exclusive lock, the guard, the body again").isEqualTo(3);
        assertThat(channel.unlocks).as("unlock calls: the exclusive body").isEqualTo(1);

        lock.release();
        assertThat(channel.unlocks).as("unlock calls after the release").isEqualTo(3);
        assertThat(file.tryLock(0L, Long.MAX_VALUE, false)).as("the whole file is free again").isNotNull()
                .satisfies(FileLock::release);
    }

    /** Delegates to {@code file}, counting the lock calls and the releases of the locks it handed out. */
    private static final class CountingChannel extends FileChannel {

        private final FileChannel file;
        int locks;
        int unlocks;

        CountingChannel(FileChannel file) {
            this.file = file;
        }

        @Override
        public FileLock lock(long position, long size, boolean shared) throws IOException {
            locks++;
            return counted(file.lock(position, size, shared));
        }

        @Override
        public FileLock tryLock(long position, long size, boolean shared) throws IOException {
            locks++;
            FileLock l = file.tryLock(position, size, shared);
            return l == null ? null : counted(l);
        }

        private FileLock counted(FileLock l) {
            return new FileLock(this, l.position(), l.size(), l.isShared()) {
                @Override
                public boolean isValid() {
                    return l.isValid();
                }

                @Override
                public void release() throws IOException {
                    unlocks++;
                    l.release();
                }
            };
        }

        @Override
        public int read(ByteBuffer dst) throws IOException {
            return file.read(dst);
        }

        @Override
        public long read(ByteBuffer[] dsts, int offset, int length) throws IOException {
            return file.read(dsts, offset, length);
        }

        @Override
        public int write(ByteBuffer src) throws IOException {
            return file.write(src);
        }

        @Override
        public long write(ByteBuffer[] srcs, int offset, int length) throws IOException {
            return file.write(srcs, offset, length);
        }

        @Override
        public long position() throws IOException {
            return file.position();
        }

        @Override
        public FileChannel position(long newPosition) throws IOException {
            file.position(newPosition);
            return this;
        }

        @Override
        public long size() throws IOException {
            return file.size();
        }

        @Override
        public FileChannel truncate(long size) throws IOException {
            file.truncate(size);
            return this;
        }

        @Override
        public void force(boolean metaData) throws IOException {
            file.force(metaData);
        }

        @Override
        public long transferTo(long position, long count, WritableByteChannel target) throws IOException {
            return file.transferTo(position, count, target);
        }

        @Override
        public long transferFrom(ReadableByteChannel src, long position, long count) throws IOException {
            return file.transferFrom(src, position, count);
        }

        @Override
        public int read(ByteBuffer dst, long position) throws IOException {
            return file.read(dst, position);
        }

        @Override
        public int write(ByteBuffer src, long position) throws IOException {
            return file.write(src, position);
        }

        @Override
        public MappedByteBuffer map(MapMode mode, long position, long size) throws IOException {
            return file.map(mode, position, size);
        }

        @Override
        protected void implCloseChannel() throws IOException {
            file.close();
        }
    }
}
