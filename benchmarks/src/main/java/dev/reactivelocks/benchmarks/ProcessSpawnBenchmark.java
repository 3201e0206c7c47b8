package dev.reactivelocks.benchmarks;

import dev.reactivelocks.process.ProcessExecutor;
import dev.reactivelocks.process.ProcessResult;
import dev.reactivelocks.process.ProcessSpec;
import java.io.IOException;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * Comparison 6a: {@code /bin/true} spawn rate, one child at a time, from a caller that waits for each
 * result: ours ({@code execute(spec).block()}, output collected, exit code checked) versus
 * {@code new ProcessBuilder("/bin/true").start().waitFor()} with the exit code checked.
 */
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 5, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(value = 1, jvmArgsAppend = {"-Xms1g", "-Xmx1g"})
@State(Scope.Thread)
public class ProcessSpawnBenchmark {

    ProcessExecutor executor;
    ProcessSpec spec;

    @Setup(Level.Trial)
    public void setUp() {
        executor = ProcessExecutor.create();
        spec = ProcessSpec.command("/bin/true").build();
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        executor.disposeLater().block(Duration.ofSeconds(30));
    }

    @Benchmark
    public int ours_execute() {
        ProcessResult result = executor.execute(spec).block(Duration.ofSeconds(30));
        return result.exitCode();
    }

    @Benchmark
    public int processBuilder_startWaitFor() throws IOException, InterruptedException {
        int exit = new ProcessBuilder("/bin/true").start().waitFor();
        if (exit != 0) {
            throw new IllegalStateException("/bin/true exited with " + exit);
        }
        return exit;
    }
}
