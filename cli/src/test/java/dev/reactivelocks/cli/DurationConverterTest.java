package dev.reactivelocks.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;
import picocli.CommandLine.TypeConversionException;

class DurationConverterTest {

    private final DurationConverter converter = new DurationConverter();

    @ParameterizedTest
    @CsvSource({
        "250ms, PT0.25S",
        "10s, PT10S",
        "2m, PT2M",
        "1h, PT1H",
        "0s, PT0S",
        "0ms, PT0S",
        "0, PT0S",
        "PT1.5S, PT1.5S",
        "pt2m, PT2M"
    })
    void parsesWholeNumbersWithAUnitAndIso8601(String text, String expected) {
        assertThat(converter.convert(text)).isEqualTo(Duration.parse(expected));
    }

    @ParameterizedTest
    @ValueSource(strings = {"10", "00", "1", "-0", "10x", "1.5s", "s", "", "ten seconds", "10 s", "P", "999999999999999999h"})
    void refusesValuesThatAreNotDurationsAndNamesTheValue(String text) {
        assertThatThrownBy(() -> converter.convert(text))
                .isInstanceOf(TypeConversionException.class)
                .hasMessage("'" + text + "' is not a duration; expected a whole number followed by ms, s, m or h"
                        + " (for example 250ms, 10s, 2m) or ISO-8601 (PT1.5S)");
    }

    @ParameterizedTest
    @ValueSource(strings = {"-1s", "PT-1S"})
    void refusesNegativeDurations(String text) {
        assertThatThrownBy(() -> converter.convert(text))
                .isInstanceOf(TypeConversionException.class)
                .hasMessageContaining("'" + text + "'");
    }

    @ParameterizedTest
    @CsvSource({"PT0.25S, 250ms", "PT10S, 10s", "PT2M, 2m", "PT1H, 60m", "PT1.5S, 1500ms", "PT0S, 0s",
        "PT0.0000001S, PT0.0000001S"})
    void formatsDurationsAsTheyAreWritten(String duration, String expected) {
        assertThat(DurationConverter.format(Duration.parse(duration))).isEqualTo(expected);
    }
}
