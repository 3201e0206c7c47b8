package dev.reactivelocks.vertx;

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
 * Every {@code include::{vertx-examples}/…[tag=…]} of {@code docs/src/main/asciidoc/vertx.adoc} names a file of
 * this module's {@code examples} test package and a tagged region in it, so the guide only shows samples that
 * this module compiles and runs.
 */
class VertxGuideTest {

    private static final Path GUIDE = Path.of("../docs/src/main/asciidoc/vertx.adoc");
    private static final Path EXAMPLES = Path.of("src/test/java/dev/reactivelocks/vertx/examples");
    private static final Pattern ATTRIBUTE = Pattern.compile("(?m)^:vertx-examples: (.+)$");
    private static final Pattern INCLUDE = Pattern.compile("include::\\{vertx-examples}/([^\\[]+)\\[tags?=([^\\]]+)]");

    @Test
    void everyIncludedSampleExistsWithItsTag() throws IOException {
        String guide = Files.readString(GUIDE);
        Matcher attribute = ATTRIBUTE.matcher(guide);
        assertThat(attribute.find()).as("the guide defines :vertx-examples:").isTrue();
        Path resolved = GUIDE.getParent().resolve(attribute.group(1).trim());
        assertThat(resolved.toAbsolutePath().normalize()).isEqualTo(EXAMPLES.toAbsolutePath().normalize());

        List<String> problems = new ArrayList<>();
        int includes = 0;
        Matcher m = INCLUDE.matcher(guide);
        while (m.find()) {
            includes++;
            Path example = EXAMPLES.resolve(m.group(1));
            if (!Files.exists(example)) {
                problems.add("missing " + m.group(1));
                continue;
            }
            String source = Files.readString(example);
            for (String tag : m.group(2).split(";")) {
                if (!source.contains("// tag::" + tag + "[]") || !source.contains("// end::" + tag + "[]")) {
                    problems.add(m.group(1) + " has no tag " + tag);
                }
            }
        }
        assertThat(problems).isEmpty();
        assertThat(includes).as("the guide includes samples").isGreaterThanOrEqualTo(8);
        assertThat(guide).doesNotContain("include::{examples}"); // the docs module's checker would look elsewhere
    }
}
