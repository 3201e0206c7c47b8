package dev.reactivelocks.testkit.servers;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

class ServerSupportTest {

    /** A JVM killed while it unpacked binaries into the shared cache leaves a partial directory: the next one removes it. */
    @Test
    void aCacheEntryLeftHalfFilledByAKilledJvmIsRemovedAndTheEntryFilledOnce() throws Exception {
        String kind = "cache-test-" + ProcessHandle.current().pid();
        Path root = Path.of(System.getProperty("java.io.tmpdir"), "reactive-locks-" + kind);
        byte[] content = "binaries".getBytes(StandardCharsets.UTF_8);
        AtomicInteger fills = new AtomicInteger();
        ServerSupport.Filler filler = dir -> {
            fills.incrementAndGet();
            Files.write(dir.resolve("bin"), content);
        };
        try {
            Path first = ServerSupport.cached(kind, content, filler);
            String entry = first.getFileName().toString();
            Path partial = Files.createDirectories(root.resolve(entry + ".partial-123")).resolve("half-written");
            Files.write(partial, new byte[] {1});

            assertThat(ServerSupport.cached(kind, content, filler)).isEqualTo(first);
            assertThat(first.resolve("bin")).hasBinaryContent(content);
            assertThat(fills).hasValue(1);
            try (Stream<Path> entries = Files.list(root)) {
                assertThat(entries.map(p -> p.getFileName().toString()))
                        .containsExactlyInAnyOrder(entry, entry + ".lock");
            }
        } finally {
            ServerSupport.deleteTree(root);
        }
    }
}
