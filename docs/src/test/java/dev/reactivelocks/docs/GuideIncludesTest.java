package dev.reactivelocks.docs;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * Every {@code include::…[tag=…]} of the guides names a file and a tagged region that exist, so a guide
 * can never show a sample that is not compiled and executed by this module's tests.
 */
class GuideIncludesTest {

    private static final Pattern INCLUDE = Pattern.compile("include::\\{examples}/([^\\[]+)\\[tags?=([^\\]]+)]");
    private static final Path GUIDES = Path.of("src/main/asciidoc");
    private static final Path EXAMPLES = Path.of("src/test/java/dev/reactivelocks/docs");

    @Test
    void everyIncludedTagExistsInACompiledExample() throws IOException {
        List<String> problems = new ArrayList<>();
        int includes = 0;
        try (Stream<Path> guides = Files.list(GUIDES)) {
            for (Path guide : guides.filter(p -> p.toString().endsWith(".adoc")).toList()) {
                Matcher m = INCLUDE.matcher(Files.readString(guide));
                while (m.find()) {
                    includes++;
                    Path example = EXAMPLES.resolve(m.group(1));
                    if (!Files.exists(example)) {
                        problems.add(guide.getFileName() + ": missing " + m.group(1));
                        continue;
                    }
                    String source = Files.readString(example);
                    for (String tag : m.group(2).split(";")) {
                        if (!source.contains("// tag::" + tag + "[]") || !source.contains("// end::" + tag + "[]")) {
                            problems.add(guide.getFileName() + ": " + m.group(1) + " has no tag " + tag);
                        }
                    }
                }
            }
        }
        assertThat(problems).isEmpty();
        assertThat(includes).as("the guides include samples").isGreaterThan(5);
    }
}
