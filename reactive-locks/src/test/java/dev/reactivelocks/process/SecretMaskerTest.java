package dev.reactivelocks.process;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.params.provider.Arguments.arguments;

import java.time.Duration;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

class SecretMaskerTest {

    final SecretMasker masker = SecretMasker.defaults();

    @Test
    void masksKeyValueForms() {
        assertThat(masker.mask("mysql -u root password=s3cr3t")).isEqualTo("mysql -u root password=***");
        assertThat(masker.mask("PASSWORD = 's3 cr3t' next")).isEqualTo("PASSWORD = '***' next");
        assertThat(masker.mask("db_password=\"x y\"")).isEqualTo("db_password=\"***\"");
        assertThat(masker.mask("admin_pass=abc auth_token=def")).isEqualTo("admin_pass=*** auth_token=***");
    }

    @Test
    void masksCommandLineOptions() {
        assertThat(masker.mask("cli --password s3cr3t --user bob")).isEqualTo("cli --password *** --user bob");
        assertThat(masker.mask("cli --os-password s3cr3t")).isEqualTo("cli --os-password ***");
        assertThat(masker.mask("cli --password=s3cr3t")).isEqualTo("cli --password=***");
    }

    @Test
    void masksJsonAndPythonDicts() {
        assertThat(masker.mask("{\"password\": \"s3cr3t\", \"user\": \"bob\"}"))
                .isEqualTo("{\"password\": \"***\", \"user\": \"bob\"}");
        assertThat(masker.mask("{'admin_password': u'abc', 'auth_token':'t0k'}"))
                .isEqualTo("{'admin_password': u'***', 'auth_token':'***'}");
    }

    @Test
    void masksXml() {
        assertThat(masker.mask("<user>bob</user><password>s3cr3t</password>"))
                .isEqualTo("<user>bob</user><password>***</password>");
        assertThat(masker.mask("<Secret>abc</Secret>")).isEqualTo("<Secret>***</Secret>");
    }

    @Test
    void leavesTextWithoutSecretsAlone() {
        String text = "ls -la /var/lib --color=auto";
        assertThat(masker.mask(text)).isSameAs(text);
        assertThat(SecretMasker.none().mask("password=x")).isEqualTo("password=x");
    }

    @Test
    void masksLiteralSecretsAndExtraKeys() {
        SecretMasker custom = masker.withSecrets("hunter2", "").withKeys("apikey");
        assertThat(custom.mask("login bob hunter2 apikey=abc")).isEqualTo("login bob *** apikey=***");
    }

    /**
     * Issue 14: {@code --password 's3cr3t'} and {@code --password -s3cr3t} stayed visible; oslo's
     * mask_password patterns hide them. Where oslo stops a quoted value at the other kind of quote, the rest
     * of the secret stays hidden too.
     */
    @ParameterizedTest
    @MethodSource("oslosForms")
    void masksWhatOslosPatternsMask(String text, String masked) {
        assertThat(masker.mask(text)).isEqualTo(masked);
    }

    static Stream<Arguments> oslosForms() {
        return Stream.of(
                arguments("mysql --password 's3cr3t' db", "mysql --password '***' db"),
                arguments("mysql --password \"s3 cr3t\" db", "mysql --password \"***\" db"),
                arguments("mysql --password -s3cr3t db", "mysql --password *** db"),
                arguments("['mysql', 'password', '-p', 's3cr3t']", "['mysql', 'password', '-p', '***']"),
                arguments("login password -p s3cr3t now", "login password -p *** now"),
                arguments("<admin_password2>s3cr3t</admin_password2>", "<admin_password2>***</admin_password2>"),
                arguments("rabbitcookie=s3cr3t cephmonkey: x", "rabbitcookie=*** cephmonkey: x"),
                arguments("password = 's3\"cr3t' next", "password = '***' next"),
                arguments("{'password': 's3\"cr3t', 'user': 'bob'}", "{'password': '***', 'user': 'bob'}"),
                arguments("password='s3cr3t", "password='***"));
    }

    /** Issue 14: a passphrase with spaces after its option was only masked up to the first space. */
    @Test
    void maskCommandHidesTheWholeElementAfterASecretOption() {
        assertThat(masker.maskCommand(List.of("gpg", "--passphrase", "correct horse battery", "--batch")))
                .isEqualTo("gpg --passphrase *** --batch");
        assertThat(masker.maskCommand(List.of("mysql", "--password", "-s3cr3t", "db")))
                .isEqualTo("mysql --password *** db");
        assertThat(masker.maskCommand(List.of("mysql", "--password", "'s3cr3t'", "db")))
                .isEqualTo("mysql --password *** db");
        assertThat(masker.maskCommand(List.of("openstack", "--os-token", "t0k 3n", "-auth_key", "k")))
                .isEqualTo("openstack --os-token *** -auth_key ***");
        assertThat(masker.maskCommand(List.of("tool", "--password=s3 cr3t", "DB_PASSWORD=a b", "--user=bob")))
                .isEqualTo("tool --password=*** DB_PASSWORD=*** --user=bob");
        assertThat(masker.maskCommand(List.of("sh", "-c", "mysql --password 's3 cr3t' db")))
                .isEqualTo("sh -c mysql --password '***' db");
        assertThat(masker.maskCommand(List.of("tool", "--password"))).isEqualTo("tool --password");
        assertThat(SecretMasker.none().maskCommand(List.of("tool", "--password", "x"))).isEqualTo("tool --password x");
    }

    @Test
    void theValuesHiddenInACommandAreMaskedEverywhere() {
        SecretMasker forCommand = masker.withSecretsOf(List.of("gpg", "--passphrase", "correct horse", "-token", "ab"));
        assertThat(forCommand.mask("bad passphrase: correct horse; ab")).isEqualTo("bad passphrase: ***; ab");
    }

    /**
     * A long run of dashes (a separator line, a progress bar) in text that mentions a key made masking
     * quadratic: the {@code --password v} rule was tried at every {@code --} of the run and scanned the rest
     * of it from each. 200 000 dashes took hours, so an exception's 64 KiB tail of such output stalled the
     * poller thread for minutes. Options are still found at the start of a word, after a run of dashes too.
     */
    @Test
    void longRunsOfDashesAreMaskedInLinearTime() {
        String dashes = "-".repeat(200_000);
        String text = "token\n" + dashes + " --password s3cr3t " + dashes + "--password x";
        String masked = assertTimeoutPreemptively(Duration.ofSeconds(20), () -> masker.mask(text));
        assertThat(masked).isEqualTo("token\n" + dashes + " --password *** " + dashes + "--password ***");
        assertThat(masker.mask("--- --os-password s3cr3t ----password s3cr3t"))
                .isEqualTo("--- --os-password *** ----password ***");
    }
}
