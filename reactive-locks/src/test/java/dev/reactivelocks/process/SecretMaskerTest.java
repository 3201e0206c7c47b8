package dev.reactivelocks.process;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

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
}
