package dev.reactivelocks.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.params.provider.Arguments.arguments;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import picocli.CommandLine;

/**
 * Issue 14: {@code purge} printed passwords for several URL shapes — a {@code /} or {@code @} in the
 * password, {@code ?password=} in the query, a scheme prefix such as {@code r2dbc:pool:}, a malformed host,
 * and driver error messages that repeat the raw URL. Every secret below contains {@code sEcR}; nothing the
 * tool prints may contain it. The databases are unreachable ({@code 127.0.0.1:1} refuses at once), so every
 * run ends in an error message that names the URL.
 */
@Timeout(120)
class PurgeRedactionTest {

    private static final String SECRET = "sEcR";
    private static final String FAILED_PG = "reactive-locks purge: cannot purge expired leases from table"
            + " 'reactive_locks' of ";
    private static final String FAILED_REDIS = "reactive-locks purge: cannot purge expired leases under key prefix"
            + " 'reactivelocks:' of ";
    private static final String UNSUPPORTED = "; supported: postgresql://, r2dbc:postgresql://, redis://, rediss://";

    static Stream<Arguments> urls() {
        return Stream.of(
                // url, shown, exit code, start of standard error
                failed("postgresql://app:sEcR1@127.0.0.1:1/test", "postgresql://app:***@127.0.0.1:1/test"),
                failed("postgres://app:sEcR1@127.0.0.1:1/test", "postgres://app:***@127.0.0.1:1/test"),
                invalid("postgresql://app:sEcR/1@127.0.0.1:1/test", "postgresql://app:***@127.0.0.1:1/test"),
                failed("postgresql://app:sEcR@1@127.0.0.1:1/test", "postgresql://app:***@127.0.0.1:1/test"),
                invalid("postgresql://app:sEcR?1#2@127.0.0.1:1/test", "postgresql://app:***@127.0.0.1:1/test"),
                failed("postgresql://app:sEcR:1@127.0.0.1:1/test", "postgresql://app:***@127.0.0.1:1/test"),
                invalid("postgresql://app:sEcR 1@127.0.0.1:1/test", "postgresql://app:***@127.0.0.1:1/test"),
                failed("postgresql://app:sEcR%2F1%40@127.0.0.1:1/test", "postgresql://app:***@127.0.0.1:1/test"),
                invalid("postgresql://sEcR/1@127.0.0.1:1/test", "postgresql://***@127.0.0.1:1/test"),
                invalid("postgresql://app@127.0.0.1:1/test?password=sEcR1",
                        "postgresql://app@127.0.0.1:1/test?password=***"),
                invalid("postgresql://127.0.0.1:1/test?sslmode=disable&password=sEcR/1@x&application_name=cli",
                        "postgresql://127.0.0.1:***@x&application_name=cli"),
                invalid("postgresql://127.0.0.1:1/test?user=app&PASSWORD=sEcR1&sslpassword=sEcR2",
                        "postgresql://127.0.0.1:1/test?user=app&PASSWORD=***&sslpassword=***"),
                failed("postgresql://app@127.0.0.1:1/test#sEcR1", "postgresql://app@127.0.0.1:1/test#***"),
                failed("r2dbc:postgresql://app:sEcR1@127.0.0.1:1/test", "r2dbc:postgresql://app:***@127.0.0.1:1/test"),
                usage("r2dbc:pool:postgresql://app:sEcR1@127.0.0.1:1/test",
                        "r2dbc:pool:postgresql://app:***@127.0.0.1:1/test",
                        "' has the unsupported scheme 'r2dbc:pool:postgresql'" + UNSUPPORTED),
                usage("mysql://root:sEcR1@127.0.0.1:3306/test", "mysql://root:***@127.0.0.1:3306/test",
                        "' has the unsupported scheme 'mysql'" + UNSUPPORTED),
                usage("app:sEcR1@127.0.0.1:1/test", "app:***",
                        "' is not of the form scheme://..." + UNSUPPORTED),
                usage("app:sEcR1:x@127.0.0.1:1/test", "app:***",
                        "' is not of the form scheme://..." + UNSUPPORTED),
                failed("postgresql://app:sEcR1@127.0.0.1:port/test", "postgresql://app:***@127.0.0.1:port/test"),
                invalid("postgresql://app:sEcR1@[::1/test", "postgresql://app:***@[::1/test"),
                invalid("postgresql://app:sEcR1@db host/test", "postgresql://app:***@db host/test"),
                failedRedis("redis://sEcR1@127.0.0.1:1", "redis://***@127.0.0.1:1"),
                failedRedis("redis://default:sEcR1@127.0.0.1:1", "redis://default:***@127.0.0.1:1"),
                invalidRedis("redis://sEcR/1@2@127.0.0.1:1/0", "redis://***@127.0.0.1:1/0"),
                failedRedis("rediss://:sEcR1@127.0.0.1:1", "rediss://:***@127.0.0.1:1"),
                failedRedis("redis://sEcR1@127.0.0.1:port", "redis://***@127.0.0.1:port"));
    }

    private static Arguments failed(String url, String shown) {
        return arguments(url, shown, 1, FAILED_PG + shown + ": ");
    }

    private static Arguments failedRedis(String url, String shown) {
        return arguments(url, shown, 1, FAILED_REDIS + shown + ": ");
    }

    private static Arguments usage(String url, String shown, String rest) {
        return arguments(url, shown, 2, "Invalid value for URL: '" + shown + rest + System.lineSeparator());
    }

    private static Arguments invalid(String url, String shown) {
        return arguments(url, shown, 2, "Invalid value for URL: '" + shown + "': ");
    }

    private static Arguments invalidRedis(String url, String shown) {
        return arguments(url, shown, 2, "Invalid value for URL or '--key-prefix': ");
    }

    @ParameterizedTest
    @MethodSource("urls")
    void purgeNeverPrintsASecret(String url, String shown, int exitCode, String stderrStart) {
        assertThat(RedactedUrl.of(url)).hasToString(shown);

        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        CommandLine cli = ReactiveLocksCli.commandLine(name -> null);
        cli.setOut(new PrintWriter(out, true));
        cli.setErr(new PrintWriter(err, true));
        int code = cli.execute("purge", url);

        assertThat(err.toString()).startsWith(stderrStart).doesNotContain(SECRET);
        assertThat(out.toString()).isEmpty();
        assertThat(code).isEqualTo(exitCode);
    }

    @Test
    void anExtraUrlEchoedByTheParserIsRedactedToo() {
        StringWriter err = new StringWriter();
        CommandLine cli = ReactiveLocksCli.commandLine(name -> null);
        cli.setErr(new PrintWriter(err, true));
        assertThat(cli.execute("purge", "postgresql://app@127.0.0.1:1/test", "redis://sEcR1@127.0.0.1:1"))
                .isEqualTo(2);
        assertThat(err.toString()).startsWith("Unmatched argument at index 2: 'redis://***@127.0.0.1:1'")
                .doesNotContain(SECRET);
    }

    @Test
    void sanitiseMasksTheRawUrlItsDecodedSecretsAndOtherUrls() {
        RedactedUrl url = RedactedUrl.of("postgresql://app:sEcR%2F1@db/x?password=sEcR2");
        assertThat(url.sanitise("cannot parse postgresql://app:sEcR%2F1@db/x?password=sEcR2; password sEcR/1"
                + " rejected; url r2dbc:postgresql://app:sEcR/1@db/x; options {password=sEcR2, host=db}"))
                .isEqualTo("cannot parse postgresql://app:***@db/x?password=***; password *** rejected;"
                        + " url r2dbc:postgresql://app:***@db/x; options {password=*** host=db}");
    }

    @Test
    void sanitiseMasksThePiecesOfASecretThatAParserCutsAtADelimiter() {
        RedactedUrl url = RedactedUrl.of("redis://pa/ss@w0rd@db:1");
        assertThat(url).hasToString("redis://***@db:1");
        assertThat(url.sanitise("For input string: \"ss@w0rd@db:1\"; user pa/ss; host w0rd@db"))
                .isEqualTo("For input string: \"***@db:1\"; user ***; host ***@db");
    }
}
