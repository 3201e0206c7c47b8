package dev.reactivelocks.process;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;

class ProcessSpecTest {

    static final SystemTools TOOLS = new SystemTools(List.of("/usr/bin"), "/usr/bin/setsid", "/usr/bin/prlimit",
            "/usr/bin/kill");

    @Test
    void argvWrapsTheCommandInSetsidRootHelperPrlimitAndShellInThatOrder() {
        ProcessSpec spec = ProcessSpec.command("echo $1", "x").shell().rootHelper("sudo -n")
                .limits(ProcessLimits.builder().openFiles(10).cpuTime(Duration.ofSeconds(3)).build()).build();
        assertThat(CommandLines.argv(spec, TOOLS)).containsExactly("/usr/bin/setsid", "-w", "--", "sudo", "-n",
                "/usr/bin/prlimit", "--cpu=3", "--nofile=10", "--", "/bin/sh", "-c", "echo $1", "x");
        assertThat(CommandLines.argv(ProcessSpec.command("a b").build(), TOOLS.withoutProcessGroups()))
                .containsExactly("a b");
    }

    @Test
    void helperIsSplitLikeAPosixShell() {
        assertThat(CommandLines.split("  sudo  nova-rootwrap '/etc/my conf' \"a\\\"b\" c\\ d ''"))
                .containsExactly("sudo", "nova-rootwrap", "/etc/my conf", "a\"b", "c d", "");
        assertThatThrownBy(() -> CommandLines.split("sudo 'open"))
                .hasMessage("unterminated single quote in 'sudo 'open'");
    }

    @Test
    void invalidSettingsAreRejectedWithTheirNameAndValue() {
        assertThatThrownBy(() -> ProcessSpec.command(new String[0])).hasMessage("command must have at least one argument, was []");
        assertThatThrownBy(() -> ProcessSpec.command("a", null)).hasMessage("argv[1] is null");
        assertThatThrownBy(() -> ProcessSpec.command("a").timeout(Duration.ZERO)).hasMessage("timeout must be > 0, was PT0S");
        assertThatThrownBy(() -> ProcessSpec.command("a").killGrace(Duration.ofSeconds(-1)))
                .hasMessage("killGrace must be >= 0, was PT-1S");
        assertThatThrownBy(() -> ProcessSpec.command("a").retryDelay(Duration.ofSeconds(2), Duration.ofSeconds(1)))
                .hasMessage("retryDelay needs 0 <= min <= max, was PT2S, PT1S");
        assertThatThrownBy(() -> ProcessSpec.command("a").checkExitCode())
                .hasMessage("checkExitCode needs at least one exit code; use anyExitCode()");
        assertThatThrownBy(() -> ProcessSpec.command("a").rootHelper(" ")).hasMessage("rootHelper must not be blank, was ' '");
        assertThatThrownBy(() -> ProcessLimits.builder().openFiles(-1)).hasMessage("openFiles must be >= 0, was -1");
        assertThatThrownBy(() -> ProcessExecutor.builder().pollerThreads(0)).hasMessage("pollerThreads must be >= 1, was 0");
    }

    /**
     * An environment the operating system cannot take was accepted by the builder and failed each attempt at
     * spawn with the JDK's {@code IllegalArgumentException}, whose message quotes the value: a NUL in
     * {@code DB_PASSWORD} put the password into the run's exception. Now the builder refuses such a variable
     * and names it, never its value.
     */
    @Test
    void environmentTheSystemCannotTakeIsRejectedAtBuildWithoutShowingTheValue() {
        assertThatThrownBy(() -> ProcessSpec.command("a").environment(java.util.Map.of("DB_PASSWORD", "s3cr3t\0x")))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("value of environment variable DB_PASSWORD must not contain NUL");
        assertThatThrownBy(() -> ProcessSpec.command("a").replaceEnvironment(java.util.Map.of("A=B", "x")))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("environment variable name must not contain '=' or NUL, was 'A=B'");
        assertThatThrownBy(() -> ProcessSpec.command("a").environment(java.util.Map.of("A\0B", "x")))
                .hasMessage("environment variable name must not contain '=' or NUL, was 'A\\0B'");
        assertThat(ProcessSpec.command("a").environment(java.util.Map.of("A", "b=c", "", "x")).build().environment())
                .containsEntry("A", "b=c");
    }

    @Test
    void argumentsWithNulAreRejectedAtBuildWithoutShowingThem() {
        assertThatThrownBy(() -> ProcessSpec.command("mysql", "--password=s3cr3t\0x"))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("argv[1] must not contain NUL");
        assertThatThrownBy(() -> ProcessSpec.command(List.of("a\0b")))
                .hasMessage("argv[0] must not contain NUL");
    }

    @Test
    void specIsImmutableAndCopiesItsInputs() {
        byte[] input = {1, 2};
        List<String> argv = new java.util.ArrayList<>(List.of("cat"));
        ProcessSpec spec = ProcessSpec.command(argv).stdin(input).build();
        input[0] = 9;
        argv.add("extra");
        assertThat(spec.argv()).containsExactly("cat");
        assertThat(spec.stdinBytes()).containsExactly(1, 2);
        ProcessSpec copy = spec.toBuilder().anyExitCode().build();
        assertThat(copy.acceptsAnyExitCode()).isTrue();
        assertThat(spec.exitCodes()).containsExactly(0);
        assertThat(copy.toString()).isEqualTo("ProcessSpec[cat]");
    }

    @Test
    void displayCommandMasksSecrets() {
        assertThat(ProcessSpec.command("mysql", "--password", "x1", "-e", "select 1").build().displayCommand())
                .isEqualTo("mysql --password *** -e select 1");
    }

    @Test
    void defaultRetryDelayIsUniformBetweenOslosBounds() {
        ProcessSpec spec = ProcessSpec.command("true").attempts(2).build();
        long min = Long.MAX_VALUE;
        long max = 0;
        for (int i = 0; i < 2000; i++) {
            long millis = DefaultProcessExecutor.retryDelay(spec).toMillis();
            assertThat(millis).isBetween(200L, 2000L);
            min = Math.min(min, millis);
            max = Math.max(max, millis);
        }
        assertThat(min).isLessThan(300);
        assertThat(max).isGreaterThan(1900);
        assertThat(DefaultProcessExecutor.retryDelay(spec.toBuilder().retryDelay(Duration.ofMillis(7)).build()))
                .isEqualTo(Duration.ofMillis(7));
    }

    /**
     * A retry delay accepted by the builder but longer than a {@code long} of nanoseconds made the first
     * retry fail with {@code ArithmeticException: long overflow}, and a maximum of exactly
     * {@code Long.MAX_VALUE} ns with {@code IllegalArgumentException: bound must be greater than origin},
     * instead of the exit-code failure or a retry.
     */
    @Test
    void retryDelaysTooLongForNanosecondsAreCappedInsteadOfFailingTheRetry() {
        ProcessSpec longest = ProcessSpec.command("false").attempts(2)
                .retryDelay(Duration.ofSeconds(Long.MAX_VALUE)).build();
        assertThat(DefaultProcessExecutor.retryDelay(longest)).isGreaterThan(Duration.ofDays(365 * 70));
        ProcessSpec widest = longest.toBuilder().retryDelay(Duration.ZERO, Duration.ofNanos(Long.MAX_VALUE)).build();
        for (int i = 0; i < 100; i++) {
            assertThat(DefaultProcessExecutor.retryDelay(widest)).isBetween(Duration.ZERO, Duration.ofNanos(Long.MAX_VALUE));
        }
        ProcessSpec open = longest.toBuilder().retryDelay(Duration.ZERO, Duration.ofSeconds(Long.MAX_VALUE)).build();
        assertThat(DefaultProcessExecutor.retryDelay(open)).isBetween(Duration.ZERO, Duration.ofNanos(Long.MAX_VALUE));

        ProcessExecutor exec = ProcessExecutor.create();
        try {
            // the first attempt fails at once; the retry then waits instead of erroring
            reactor.test.StepVerifier.create(exec.execute(longest))
                    .expectSubscription()
                    .expectNoEvent(Duration.ofMillis(500))
                    .thenCancel()
                    .verify(Duration.ofSeconds(20));
        } finally {
            exec.disposeLater().block(Duration.ofSeconds(20));
        }
    }
}
