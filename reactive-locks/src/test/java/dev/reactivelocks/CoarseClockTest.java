package dev.reactivelocks;

import static org.assertj.core.api.Assertions.assertThat;

import dev.reactivelocks.testkit.contract.SpinRacer;
import java.io.InputStream;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.lang.ref.WeakReference;
import java.lang.reflect.Method;
import java.time.Duration;
import java.util.HashSet;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.BooleanSupplier;
import java.util.function.Consumer;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import reactor.core.publisher.Mono;
import reactor.core.scheduler.Schedulers;

/**
 * The clock of in-process holds: exact while stale, refreshed each tick while read, never ahead of the wall
 * clock, its refresh thread parks and ends when nobody reads it; and in a hostile environment (interrupts,
 * a dying thread, no thread allowed, wake-ups racing the idle exit) reads neither fail, nor return a value
 * that nobody refreshes, nor leave a spinning or second thread; the thread keeps nothing of its creator.
 */
class CoarseClockTest {

    private static final long TICK = TimeUnit.MILLISECONDS.toNanos(5);

    @Test
    void aStaleClockReadsTheWallClock() {
        CoarseClock clock = new CoarseClock(TICK, TimeUnit.SECONDS.toNanos(60));
        assertThat(clock.stale()).isTrue();
        assertEveryReadIsTheWallClock(clock, CoarseClock.STALE_READS_PER_WAKE - 1);
        assertThat(clock.ticking()).as("fewer reads than a wake-up takes start no thread").isFalse();
    }

    @Test
    void whileReadTheValueFollowsTheWallClockTickByTickAndIsNeverAhead() {
        CoarseClock clock = new CoarseClock(TICK, TimeUnit.SECONDS.toNanos(60));
        awaitTrue(() -> readAndFresh(clock), "the refresh thread's first tick");
        Set<Long> seen = new HashSet<>();
        long end = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(300);
        while (System.nanoTime() < end) {
            long before = System.currentTimeMillis();
            long read = clock.millis();
            long after = System.currentTimeMillis();
            assertThat(read).as("never ahead of the wall clock").isLessThanOrEqualTo(after);
            assertThat(read).as("a refresh old at most (a generous bound for a loaded machine)")
                    .isGreaterThan(before - 1_000);
            seen.add(read);
        }
        // 300 ms of 5 ms ticks: about 60 values; a handful proves the value moves while it is read
        assertThat(seen).hasSizeGreaterThan(5);
    }

    @Test
    void aClockNobodyReadsGoesStaleAndItsThreadEndsThenAWakeUpStartsAnother() {
        CoarseClock clock = new CoarseClock(TICK, TimeUnit.MILLISECONDS.toNanos(100));
        awaitTrue(() -> readAndFresh(clock), "the refresh thread's first tick");
        awaitTrue(clock::stale, "stale after a tick without reads");
        long before = System.currentTimeMillis();
        assertThat(clock.millis()).as("a stale read is the wall clock").isBetween(before, System.currentTimeMillis());
        awaitTrue(() -> !clock.ticking(), "the refresh thread ends after the idle period");
        assertThat(refreshThreads()).allMatch(Thread::isDaemon);

        awaitTrue(() -> readAndFresh(clock), "a new refresh thread ticks");
        assertThat(clock.ticking()).isTrue();
    }

    @Test
    void aReaderOnANonBlockingThreadStartsTheRefreshThreadWithoutBlocking() {
        CoarseClock clock = new CoarseClock(TICK, TimeUnit.SECONDS.toNanos(60));
        // BlockHound (installed for every test) fails this if starting or waking the thread blocked
        Mono.fromRunnable(() -> readEnoughToWake(clock)).subscribeOn(Schedulers.parallel()).block(Duration.ofSeconds(10));
        assertThat(clock.ticking()).isTrue();
    }

    @Test
    void whereNoThreadCanBeMadeReadsCallTheClockAndNeverFail() {
        AtomicInteger attempts = new AtomicInteger();
        CoarseClock clock = new CoarseClock(TICK, TimeUnit.SECONDS.toNanos(60), r -> {
            attempts.incrementAndGet();
            throw new SecurityException("sandbox: no threads");
        });
        assertEveryReadIsTheWallClock(clock, 3 * CoarseClock.STALE_READS_PER_WAKE);
        assertThat(attempts).as("one failed attempt disables the refresh thread").hasValue(1);
        assertThat(clock.ticking()).isFalse();
    }

    @Test
    void whereNoThreadCanBeStartedReadsCallTheClockAndNeverFail() {
        CoarseClock clock = new CoarseClock(TICK, TimeUnit.SECONDS.toNanos(60), r -> new Thread(r) {
            @Override
            public synchronized void start() {
                throw new OutOfMemoryError("unable to create native thread: possibly out of memory");
            }
        });
        assertEveryReadIsTheWallClock(clock, 3 * CoarseClock.STALE_READS_PER_WAKE);
        assertThat(clock.ticking()).isFalse();
    }

    @Test
    void anInterruptedRefreshThreadNeitherSpinsNorOutlivesItsIdlePeriod() throws InterruptedException {
        CoarseClock clock = new CoarseClock(TICK, TimeUnit.MILLISECONDS.toNanos(100));
        awaitTrue(() -> readAndFresh(clock), "the first tick");
        Thread ticker = Objects.requireNonNull(clock.thread());
        ticker.interrupt();
        ThreadMXBean mx = ManagementFactory.getThreadMXBean();
        long cpu = mx.getThreadCpuTime(ticker.getId());
        ticker.join(TimeUnit.SECONDS.toMillis(10));
        long spent = mx.getThreadCpuTime(ticker.getId()); // -1 once ended: then it did not spin until now
        assertThat(ticker.isAlive()).as("ended after its 100 ms idle period").isFalse();
        if (spent >= 0) {
            assertThat(TimeUnit.NANOSECONDS.toMillis(spent - cpu)).as("CPU time until it ended").isLessThan(50);
        }
    }

    @Test
    void aRefreshThreadThatDiesWhileFreshLeavesAStaleValueAndRoomForAnother() throws InterruptedException {
        Assumptions.assumeTrue(Runtime.version().feature() < 20, "Thread.stop works before Java 20 only");
        CoarseClock clock = new CoarseClock(TICK, TimeUnit.SECONDS.toNanos(60));
        awaitTrue(() -> readAndFresh(clock), "the first tick");
        Thread ticker = Objects.requireNonNull(clock.thread());
        ticker.setUncaughtExceptionHandler((t, e) -> { });
        stop(ticker);
        ticker.join(TimeUnit.SECONDS.toMillis(10));
        assertThat(ticker.isAlive()).isFalse();
        assertThat(clock.stale()).as("a dead thread's value is not served as fresh").isTrue();
        awaitTrue(() -> readAndFresh(clock), "a new refresh thread");
        assertThat(clock.thread()).isNotSameAs(ticker);
    }

    @Test
    void theRefreshThreadKeepsNoInheritableThreadLocalOfTheReaderThatStartedIt() throws InterruptedException {
        CoarseClock clock = new CoarseClock(TICK, TimeUnit.SECONDS.toNanos(60));
        InheritableThreadLocal<Object> requestContext = new InheritableThreadLocal<>();
        AtomicReference<WeakReference<Object>> context = new AtomicReference<>();
        Thread request = new Thread(() -> {
            Object value = new byte[1 << 20];
            context.set(new WeakReference<>(value));
            requestContext.set(value);
            readEnoughToWake(clock);
            requestContext.remove();
        });
        request.start();
        request.join();
        assertThat(clock.ticking()).isTrue();
        awaitCollected(context.get(), "the request's inheritable thread-local value");
    }

    @Test
    void theRefreshThreadKeepsNoClassLoaderOfTheCodeThatStartedIt() throws Exception {
        CoarseClock clock = new CoarseClock(TICK, TimeUnit.SECONDS.toNanos(60));
        String name = Trampoline.class.getName();
        byte[] bytes;
        try (InputStream in = Trampoline.class.getResourceAsStream("CoarseClockTest$Trampoline.class")) {
            bytes = Objects.requireNonNull(in).readAllBytes();
        }
        AtomicReference<ClassLoader> webapp = new AtomicReference<>(new ClassLoader(getClass().getClassLoader()) {
            @Override
            protected Class<?> loadClass(String n, boolean resolve) throws ClassNotFoundException {
                if (!n.equals(name)) {
                    return super.loadClass(n, resolve);
                }
                synchronized (getClassLoadingLock(n)) {
                    Class<?> c = findLoadedClass(n);
                    return c != null ? c : defineClass(n, bytes, 0, bytes.length);
                }
            }
        });
        WeakReference<ClassLoader> loader = new WeakReference<>(webapp.get());
        Thread request = new Thread(() -> {
            try {
                @SuppressWarnings("unchecked")
                Consumer<Runnable> code = (Consumer<Runnable>) webapp.get().loadClass(name)
                        .getDeclaredConstructor().newInstance();
                code.accept(() -> readEnoughToWake(clock));
            } catch (ReflectiveOperationException e) {
                throw new IllegalStateException(e);
            }
        });
        request.setContextClassLoader(null);
        request.start();
        request.join();
        webapp.set(null);
        assertThat(clock.ticking()).isTrue();
        awaitCollected(loader, "the class loader of the code on the starting reader's stack");
    }

    /**
     * Spin-timed: wake-ups race the refresh thread's idle exit (1 ms tick, 3 ms idle exit, a random pause
     * first), readers read meanwhile. Never ahead of the wall clock, never far behind, and once nobody reads,
     * no refresh thread of the clock is left and a read is exact.
     */
    @Test
    void wakeUpsRacingTheIdleExitLeaveNeitherAStuckValueNorASecondThread() throws InterruptedException {
        CoarseClock clock = new CoarseClock(TimeUnit.MILLISECONDS.toNanos(1), TimeUnit.MILLISECONDS.toNanos(3));
        Set<Thread> tickers = new HashSet<>();
        AtomicInteger ahead = new AtomicInteger();
        AtomicLong worstLag = new AtomicLong();
        Runnable readAndCheck = () -> {
            long before = System.currentTimeMillis();
            long read = clock.millis();
            if (read > System.currentTimeMillis()) {
                ahead.incrementAndGet();
            }
            worstLag.accumulateAndGet(before - read, Math::max);
        };
        try (SpinRacer racer = new SpinRacer(2_000)) {
            for (int race = 0; race < 300; race++) {
                long until = System.nanoTime() + ThreadLocalRandom.current().nextLong(
                        TimeUnit.MILLISECONDS.toNanos(1), TimeUnit.MILLISECONDS.toNanos(6));
                while (System.nanoTime() < until) {
                    Thread.onSpinWait();
                }
                racer.race(clock::wake, () -> {
                    readAndCheck.run();
                    clock.wake();
                });
                Thread t = clock.thread();
                if (t != null) {
                    tickers.add(t);
                }
                for (int i = 0; i < 20; i++) {
                    readAndCheck.run();
                }
            }
        }
        assertThat(ahead).as("reads ahead of the wall clock").hasValue(0);
        assertThat(worstLag.get()).as("worst lag of a read, ms (a generous bound for a loaded machine)")
                .isLessThan(1_000);
        awaitTrue(() -> !clock.ticking(), "the idle exit");
        for (Thread t : tickers) {
            t.join(TimeUnit.SECONDS.toMillis(10));
        }
        assertThat(tickers).as("refresh threads of this clock alive once idle").noneMatch(Thread::isAlive);
        long before = System.currentTimeMillis();
        assertThat(clock.millis()).isBetween(before, System.currentTimeMillis());
    }

    @Test
    void aReaderOnANonBlockingThreadWakesAParkedRefreshThreadWithoutBlocking() {
        CoarseClock clock = new CoarseClock(TICK, TimeUnit.SECONDS.toNanos(60));
        awaitTrue(() -> readAndFresh(clock), "the first tick");
        awaitTrue(clock::stale, "stale and parked");
        Mono.fromRunnable(() -> readEnoughToWake(clock)).subscribeOn(Schedulers.parallel()).block(Duration.ofSeconds(10));
        awaitTrue(() -> readAndFresh(clock), "woken from the parallel scheduler");
    }

    @Test
    void aVirtualThreadStartsAPlatformDaemonRefreshThread() throws Exception {
        Method ofVirtual;
        try {
            ofVirtual = Thread.class.getMethod("ofVirtual");
        } catch (NoSuchMethodException e) {
            Assumptions.abort("no virtual threads before Java 21");
            return;
        }
        CoarseClock clock = new CoarseClock(TICK, TimeUnit.SECONDS.toNanos(60));
        Method start = Class.forName("java.lang.Thread$Builder").getMethod("start", Runnable.class);
        Thread reader = (Thread) start.invoke(ofVirtual.invoke(null), (Runnable) () -> readEnoughToWake(clock));
        reader.join();
        Thread ticker = Objects.requireNonNull(clock.thread());
        assertThat((boolean) Thread.class.getMethod("isVirtual").invoke(ticker)).isFalse();
        assertThat(ticker.isDaemon()).isTrue();
    }

    /** Loaded by a throw-away class loader: a web application's code on the stack of the reader that wakes. */
    public static final class Trampoline implements Consumer<Runnable> {
        @Override
        public void accept(Runnable r) {
            r.run();
        }
    }

    @SuppressWarnings({"deprecation", "removal"})
    private static void stop(Thread t) {
        t.stop();
    }

    private static void awaitCollected(WeakReference<?> ref, String what) throws InterruptedException {
        for (int i = 0; i < 50 && ref.get() != null; i++) {
            System.gc();
            Thread.sleep(20);
        }
        assertThat(ref.get()).as(what + ", collected once its thread ended").isNull();
    }

    /** Reads a stale clock as often as it takes to wake (or start) its refresh thread. */
    private static void readEnoughToWake(CoarseClock clock) {
        for (int i = 0; i < CoarseClock.STALE_READS_PER_WAKE; i++) {
            clock.millis();
        }
    }

    /** Reads {@code reads} times, each read between the wall clock before and after it. */
    private static void assertEveryReadIsTheWallClock(CoarseClock clock, int reads) {
        for (int i = 0; i < reads; i++) {
            long before = System.currentTimeMillis();
            assertThat(clock.millis()).isBetween(before, System.currentTimeMillis());
        }
    }

    /** Reads the clock (so that it wakes, then stays fresh); whether it is fresh. */
    private static boolean readAndFresh(CoarseClock clock) {
        clock.millis();
        return !clock.stale();
    }

    private static Set<Thread> refreshThreads() {
        Set<Thread> threads = new HashSet<>(Thread.getAllStackTraces().keySet());
        threads.removeIf(t -> !t.getName().equals("reactive-locks-clock"));
        return threads;
    }

    private static void awaitTrue(BooleanSupplier condition, String what) {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (!condition.getAsBoolean()) {
            assertThat(System.nanoTime()).as("waiting for " + what).isLessThan(deadline);
            Thread.onSpinWait();
        }
    }
}
