package dev.reactivelocks.blocking;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * Every sample that {@code docs/src/main/asciidoc/blocking.adoc} includes is a tagged region of a test
 * class of this module, so the guide never shows code that is not compiled and executed here.
 */
class GuideSamplesTest {

    private static final Path GUIDE = Path.of("../docs/src/main/asciidoc/blocking.adoc");
    private static final Path SAMPLES = Path.of("src/test/java/dev/reactivelocks/blocking");
    private static final Pattern INCLUDE =
            Pattern.compile("include::\\{blocking-examples}/([^\\[]+)\\[tags?=([^\\]]+)]");

    @Test
    void everyIncludedRegionExistsInACompiledSample() throws IOException {
        assertThat(GUIDE).exists();
        Matcher m = INCLUDE.matcher(Files.readString(GUIDE));
        List<String> problems = new ArrayList<>();
        int includes = 0;
        while (m.find()) {
            includes++;
            Path sample = SAMPLES.resolve(m.group(1));
            if (!Files.exists(sample)) {
                problems.add("missing " + sample);
                continue;
            }
            String source = Files.readString(sample);
            for (String tag : m.group(2).split(";")) {
                if (!source.contains("// tag::" + tag + "[]") || !source.contains("// end::" + tag + "[]")) {
                    problems.add(m.group(1) + " has no tag " + tag);
                }
            }
        }
        assertThat(problems).isEmpty();
        assertThat(includes).as("samples included by the guide").isEqualTo(6);
    }

    @Test
    void theGuidesAttributePointsAtThisModulesSamples() throws IOException {
        String guide = Files.readString(GUIDE);
        Matcher m = Pattern.compile(":blocking-examples: (\\S+)").matcher(guide);
        assertThat(m.find()).isTrue();
        // resolved from docs/src/main/asciidoc, where the guide lives
        Path resolved = GUIDE.getParent().resolve(m.group(1)).normalize();
        assertThat(resolved).isEqualTo(Path.of("..").resolve("blocking-bridge").resolve(SAMPLES).normalize());
        assertThat(resolved).isDirectory();
    }
}
