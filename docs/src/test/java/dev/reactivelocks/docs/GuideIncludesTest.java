package dev.reactivelocks.docs;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * Every {@code include::{attribute}/…[tag=…]} of the guides names a file and a tagged region that exist, so a guide
 * can never show a sample that is not compiled and executed by the tests of this module or of the module the
 * attribute points into ({@code :spring-examples: ../../../../spring-boot-autoconfigure/src/test/…}).
 */
class GuideIncludesTest {

    private static final Pattern ATTRIBUTE = Pattern.compile("(?m)^:([\\w-]+): (\\S+)$");
    private static final Pattern INCLUDE = Pattern.compile("include::\\{([\\w-]+)}/([^\\[]+)\\[tags?=([^\\]]+)]");
    private static final Path GUIDES = Path.of("src/main/asciidoc");

    @Test
    void everyIncludedTagExistsInACompiledExample() throws IOException {
        List<String> problems = new ArrayList<>();
        Map<String, Integer> includes = new HashMap<>();
        try (Stream<Path> guides = Files.list(GUIDES)) {
            for (Path guide : guides.filter(p -> p.toString().endsWith(".adoc")).toList()) {
                String text = Files.readString(guide);
                Map<String, String> attributes = new HashMap<>();
                Matcher a = ATTRIBUTE.matcher(text);
                while (a.find()) {
                    attributes.put(a.group(1), a.group(2));
                }
                Matcher m = INCLUDE.matcher(text);
                while (m.find()) {
                    includes.merge(m.group(1), 1, Integer::sum);
                    String directory = attributes.get(m.group(1));
                    if (directory == null) {
                        problems.add(guide.getFileName() + ": no attribute " + m.group(1));
                        continue;
                    }
                    Path example = GUIDES.resolve(directory).resolve(m.group(2)).normalize();
                    if (!Files.exists(example)) {
                        problems.add(guide.getFileName() + ": missing " + example);
                        continue;
                    }
                    String source = Files.readString(example);
                    for (String tag : m.group(3).split(";")) {
                        if (!source.contains("tag::" + tag + "[]") || !source.contains("end::" + tag + "[]")) {
                            problems.add(guide.getFileName() + ": " + example + " has no tag " + tag);
                        }
                    }
                }
            }
        }
        assertThat(problems).isEmpty();
        assertThat(includes.getOrDefault("examples", 0)).as("the guides include this module's samples")
                .isGreaterThan(5);
        assertThat(includes).as("and samples of other modules")
                .containsKeys("spring-examples", "spring-sample", "vertx-examples", "blocking-examples");
    }
}
