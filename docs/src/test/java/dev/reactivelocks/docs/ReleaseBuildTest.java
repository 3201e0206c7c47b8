package dev.reactivelocks.docs;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/** The release metadata stays complete as modules are added: the BOM lists every published artifact. */
class ReleaseBuildTest {

    private static final Path ROOT = Path.of("..").toAbsolutePath().normalize();
    /** Modules that are built but not published. */
    private static final List<String> UNPUBLISHED = List.of("docs", "docs/spring-boot-sample", "benchmarks", "stress", "bom");

    @Test
    void theBomListsEveryPublishedArtifactAtTheBuildsVersion() throws IOException {
        String parent = Files.readString(ROOT.resolve("pom.xml"));
        TreeSet<String> published = new TreeSet<>();
        for (String module : all(parent, "<module>([^<]+)</module>")) {
            if (!UNPUBLISHED.contains(module)) {
                published.add(artifactIdOf(Files.readString(ROOT.resolve(module).resolve("pom.xml"))));
            }
        }
        String bom = Files.readString(ROOT.resolve("bom/pom.xml"));
        assertThat(new TreeSet<>(all(bom, "<artifactId>(reactive-locks[^<]*)</artifactId>")))
                .as("artifacts in bom/pom.xml")
                .containsAll(published);
        assertThat(first(bom, "<version>([^<]+)</version>")).isEqualTo(first(parent, "<version>([^<]+)</version>"));
        assertThat(bom).doesNotContain("<parent>");
    }

    @Test
    void everyPublishedModuleHasANameAndADescriptionAndTheLicenseIsThere() throws IOException {
        String parent = Files.readString(ROOT.resolve("pom.xml"));
        for (String module : all(parent, "<module>([^<]+)</module>")) {
            String pom = Files.readString(ROOT.resolve(module).resolve("pom.xml"));
            assertThat(pom).as(module).contains("<name>").contains("<description>");
        }
        assertThat(parent).contains("<licenses>").contains("<scm>").contains("<developers>").contains("<url>");
        assertThat(Files.readString(ROOT.resolve("LICENSE"))).contains("Apache License").contains("Version 2.0");
    }

    /**
     * The tiers (see api-tiers.adoc): every published module declares its module, but the Vert.x adapter, an
     * automatic module by its manifest; an internal package is exported only to the project's own modules.
     */
    @Test
    void everyPublishedModuleDeclaresItsModuleAndExportsInternalPackagesOnlyToTheProject() throws IOException {
        String parent = Files.readString(ROOT.resolve("pom.xml"));
        for (String module : all(parent, "<module>([^<]+)</module>")) {
            if (UNPUBLISHED.contains(module)) {
                continue;
            }
            Path descriptor = ROOT.resolve(module).resolve("src/main/java/module-info.java");
            if (module.equals("vertx-adapter")) {
                assertThat(descriptor).doesNotExist();
                assertThat(Files.readString(ROOT.resolve(module).resolve("pom.xml")))
                        .contains("<Automatic-Module-Name>dev.reactivelocks.vertx</Automatic-Module-Name>");
                continue;
            }
            assertThat(descriptor).as(module).exists();
            String text = Files.readString(descriptor);
            assertThat(first(text, "module ([\\w.]+) \\{")).as(module).startsWith("dev.reactivelocks");
            for (String exported : all(text, "exports ([\\w.]+[^;]*);")) {
                if (exported.contains(".internal")) {
                    assertThat(exported).as(module).contains(" to ");
                    for (String target : exported.substring(exported.indexOf(" to ") + 4).split(",")) {
                        assertThat(target.strip()).as(module + ": " + exported).startsWith("dev.reactivelocks.");
                    }
                }
            }
        }
    }

    private static String artifactIdOf(String pom) {
        return first(pom.substring(pom.indexOf("</parent>")), "<artifactId>([^<]+)</artifactId>");
    }

    private static String first(String text, String regex) {
        Matcher m = Pattern.compile(regex).matcher(text);
        assertThat(m.find()).as(regex).isTrue();
        return m.group(1);
    }

    private static List<String> all(String text, String regex) {
        List<String> out = new ArrayList<>();
        Matcher m = Pattern.compile(regex).matcher(text);
        while (m.find()) {
            out.add(m.group(1));
        }
        return out;
    }
}
