package dev.reactivelocks.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.reactivelocks.LockHandle;
import dev.reactivelocks.LockOptions;
import dev.reactivelocks.LockService;
import dev.reactivelocks.distributed.DistributedLockService;
import dev.reactivelocks.file.FileLockConfig;
import dev.reactivelocks.file.FileLockService;
import dev.reactivelocks.internal.Owners;
import dev.reactivelocks.postgres.PostgresLockBackend;
import dev.reactivelocks.postgres.PostgresLockConfig;
import dev.reactivelocks.redis.RedisLockBackend;
import dev.reactivelocks.redis.RedisLockConfig;
import dev.reactivelocks.testkit.servers.TestPostgres;
import dev.reactivelocks.testkit.servers.TestRedis;
import io.lettuce.core.RedisClient;
import io.r2dbc.spi.ConnectionFactory;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.UUID;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import reactor.core.publisher.Mono;

/** {@code reactive-locks list} from the real jar: a lock directory, PostgreSQL and Redis stores, JSON. */
@Timeout(120)
class ListIT {

    private static final Duration BLOCK = Duration.ofSeconds(20);
    private static final String HEADER = "NAME MODE HOLDERS WAITING FENCING HELD-SINCE LEASE-EXPIRY OWNERS";

    @TempDir
    Path work;

    @TempDir
    Path locks;

    /** The output's lines with their columns joined by one space (the widths follow the longest cell). */
    private static List<String> lines(CliJar.Result result) {
        List<String> out = new ArrayList<>();
        for (String line : result.stdout().split("\n")) {
            out.add(String.join(" ", line.trim().split(" {2,}")));
        }
        return out;
    }

    @Test
    void listShowsEachLockFileWithItsModeAndHoldingProcesses() throws Exception {
        FileLockService service = FileLockService.create(FileLockConfig.builder().lockDirectory(locks).build());
        try {
            service.acquire("free-one").flatMap(LockHandle::release).block(BLOCK);
            service.acquire("team/build").flatMap(LockHandle::release).block(BLOCK);
            LockHandle readerA = service.acquire("readers", LockOptions.shared()).block(BLOCK);
            LockHandle readerB = service.acquire("readers", LockOptions.shared()).block(BLOCK);
            LockHandle writer = service.acquire("writer").block(BLOCK);
            Files.createDirectory(locks.resolve("subdirectory"));
            Files.createSymbolicLink(locks.resolve("link"), locks.resolve("writer"));

            CliJar.Result result = CliJar.run(work, "list", "--lock-dir", locks.toString());

            assertThat(result.stderr()).isEmpty();
            assertThat(result.exitCode()).isEqualTo(0);
            if (Files.isReadable(Path.of("/proc/locks"))) {
                // this test JVM holds both: one holding process each, named by its pid
                String me = Owners.thisProcess();
                assertThat(lines(result)).containsExactly(HEADER,
                        "free-one free - - - - - -",
                        "readers SHARED 1 0 - - - " + me,
                        "team_build free - - - - - -",
                        "writer EXCLUSIVE 1 0 - - - " + me);
            } else {
                assertThat(lines(result)).containsExactly(HEADER, "free-one free - - - - - -",
                        "readers SHARED - - - - - -", "team_build free - - - - - -", "writer EXCLUSIVE - - - - - -");
            }
            assertThat(CliJar.run(work, "list", "--lock-dir", locks.toString(), "--prefix", "w").stdout())
                    .contains("writer").doesNotContain("readers");
            // looking took nothing away from the holders
            assertThat(writer.isHeld()).isTrue();
            assertThat(service.tryAcquire("writer").block(BLOCK)).isNull();
            assertThat(service.tryAcquire("readers").block(BLOCK)).isNull();
            readerA.release().then(readerB.release()).then(writer.release()).block(BLOCK);

            CliJar.Result afterRelease = CliJar.run(work, "list", "--lock-dir", locks.toString(), "--json");

            assertThat(afterRelease.stdout()).isEqualTo("[\n"
                    + "  {\"name\": \"free-one\", \"mode\": \"free\", \"holders\": null, \"waiting\": null,"
                    + " \"fencingToken\": null, \"heldSince\": null, \"leaseExpiry\": null, \"owners\": []},\n"
                    + "  {\"name\": \"readers\", \"mode\": \"free\", \"holders\": null, \"waiting\": null,"
                    + " \"fencingToken\": null, \"heldSince\": null, \"leaseExpiry\": null, \"owners\": []},\n"
                    + "  {\"name\": \"team_build\", \"mode\": \"free\", \"holders\": null, \"waiting\": null,"
                    + " \"fencingToken\": null, \"heldSince\": null, \"leaseExpiry\": null, \"owners\": []},\n"
                    + "  {\"name\": \"writer\", \"mode\": \"free\", \"holders\": null, \"waiting\": null,"
                    + " \"fencingToken\": null, \"heldSince\": null, \"leaseExpiry\": null, \"owners\": []}\n"
                    + "]\n");
        } finally {
            service.dispose();
        }
    }

    /**
     * {@code list} showed a lock file whose name is no valid UTF-8 (byte {@code 0xff}) as {@code free}
     * while another process held it: the name decoded to {@code "bad\ufffd"}, whose lock file is another
     * file, {@code bad} followed by the UTF-8 bytes of U+FFFD, that nobody locks.
     */
    @Test
    void listShowsALockFileWhoseNameIsNotUtf8AsHeld() throws Exception {
        Process touch = new ProcessBuilder("sh", "-c", "printf '' > \"$(printf 'bad\\377')\"")
                .directory(locks.toFile()).inheritIO().start();
        assertThat(touch.waitFor()).isEqualTo(0);
        Path file;
        try (var entries = Files.list(locks)) {
            file = entries.findFirst().orElseThrow();
        }
        try (FileChannel channel = FileChannel.open(file, StandardOpenOption.READ, StandardOpenOption.WRITE);
             FileLock held = channel.lock()) {
            CliJar.Result result = CliJar.run(work, java.util.Map.of("LC_ALL", "C.UTF-8"),
                    "list", "--lock-dir", locks.toString());

            assertThat(result.stderr()).isEmpty();
            assertThat(result.exitCode()).isEqualTo(0);
            assertThat(lines(result)).containsExactly(HEADER, "bad\ufffd EXCLUSIVE - - - - - -");
            assertThat(held.isValid()).isTrue();
        }
        try (var entries = Files.list(locks)) {
            assertThat(entries).as("list created no file").containsExactly(file);
        }
    }

    /** {@code list > /dev/full} exited with 0 though nothing of the list was written. */
    @Test
    void listToAFullDiskFailsWithExitCode1() throws Exception {
        Assumptions.assumeTrue(Files.isWritable(Path.of("/dev/full")), "/dev/full");
        Files.writeString(locks.resolve("some-lock"), "");
        Path stderr = work.resolve("stderr.txt");
        for (String[] args : List.of(new String[] {"list", "--lock-dir", locks.toString()},
                new String[] {"list", "--json", "--lock-dir", locks.toString()}, new String[] {"--help"})) {
            Process process = new ProcessBuilder(CliJar.command(args))
                    .redirectOutput(Path.of("/dev/full").toFile()).redirectError(stderr.toFile()).start();

            assertThat(process.waitFor()).as(String.join(" ", args)).isEqualTo(1);
            assertThat(Files.readString(stderr)).as(String.join(" ", args))
                    .isEqualTo("reactive-locks: cannot write to standard output\n");
        }
    }

    @Test
    void listReadsTheHoldersOfAPostgresStoreWithTheirOwners() throws Exception {
        String table = "cli_list_" + UUID.randomUUID().toString().replace("-", "").substring(0, 12)
                .toLowerCase(Locale.ROOT);
        ConnectionFactory factory = TestPostgres.get().connectionFactory("cli-list-it");
        PostgresLockConfig config = PostgresLockConfig.builder().table(table).build();
        PostgresLockBackend backend = PostgresLockBackend.create(factory, config);
        DistributedLockService service = DistributedLockService.builder(backend).owner("billing-7").build();
        try {
            LockHandle job = service.acquire("job").block(BLOCK);
            LockHandle r1 = service.acquire("team/report", LockOptions.shared()).block(BLOCK);
            LockHandle r2 = service.acquire("team/report", LockOptions.shared()).block(BLOCK);

            CliJar.Result result = CliJar.run(work, "list", "--table", table, TestPostgres.get().url());

            assertThat(result.stderr()).isEmpty();
            assertThat(result.exitCode()).isEqualTo(0);
            List<String> lines = lines(result);
            assertThat(lines).hasSize(3);
            assertThat(lines.get(0)).isEqualTo(HEADER);
            assertRow(lines.get(1), "job", "EXCLUSIVE", "1", "0", job.fencingToken(), "billing-7");
            assertRow(lines.get(2), "team/report", "SHARED", "2", "0", r2.fencingToken(), "billing-7");

            CliJar.Result json = CliJar.run(work, "list", "--json", "--prefix", "team/", "--table", table,
                    TestPostgres.get().url());
            assertThat(json.stdout()).startsWith("[\n  {\"name\": \"team/report\", \"mode\": \"SHARED\", \"holders\": 2,"
                            + " \"waiting\": 0, \"fencingToken\": " + r2.fencingToken() + ", \"heldSince\": \"")
                    .contains("\"leaseExpiry\": \"").endsWith("\"owners\": [\"billing-7\"]}\n]\n");
            job.release().then(r1.release()).then(r2.release()).block(BLOCK);
            assertThat(CliJar.run(work, "list", "--table", table, TestPostgres.get().url()).stdout())
                    .isEqualTo(HEADER.replace(" ", "  ") + "\n");
        } finally {
            service.disposeLater().then(backend.close()).block(BLOCK);
            Mono.usingWhen(factory.create(), c -> reactor.core.publisher.Flux.fromIterable(config.dropDdl())
                    .concatMap(sql -> Mono.from(c.createStatement(sql).execute())).then(), c -> c.close()).block(BLOCK);
        }
    }

    private static void assertRow(String line, String name, String mode, String holders, String waiting,
                                  long token, String owners) {
        String[] cells = line.split(" ");
        assertThat(Arrays.asList(cells).subList(0, 5)).containsExactly(name, mode, holders, waiting,
                Long.toString(token));
        assertThat(cells[5]).as("held since").matches("\\d{4}-\\d\\d-\\d\\dT.*Z");
        assertThat(cells[6]).as("lease expiry").matches("\\d{4}-\\d\\d-\\d\\dT.*Z");
        assertThat(cells[7]).isEqualTo(owners);
    }

    /**
     * A lock service of {@code owner} on the test Redis, under a new key prefix that starts with {@code start};
     * closed with its backend and client.
     */
    private record RedisStore(String prefix, RedisClient client, RedisLockBackend backend, LockService service)
            implements AutoCloseable {

        static RedisStore open(String start, String owner) {
            String keyPrefix = start + UUID.randomUUID() + ":";
            RedisClient client = RedisClient.create();
            RedisLockBackend backend = RedisLockBackend.create(client, TestRedis.get().uri("cli-list-it"),
                    RedisLockConfig.builder().keyPrefix(keyPrefix).restartGrace(Duration.ZERO).build());
            LockService service = DistributedLockService.builder(backend).owner(owner).build();
            return new RedisStore(keyPrefix, client, backend, service);
        }

        /**
         * Holds {@code name} exclusively while {@code list} of the jar runs on this store, which must exit with 0
         * and print nothing on standard error.
         *
         * @return the second line of the output (the lock's, after the header), its fencing token replaced by
         *         {@code <token>}
         */
        String lineOfHeld(Path work, String name) throws Exception {
            LockHandle h = service.acquire(name).block(BLOCK);
            CliJar.Result result = CliJar.run(work, "list", "--key-prefix", prefix, TestRedis.get().url());
            h.release().block(BLOCK);
            assertThat(result.stderr()).isEmpty();
            assertThat(result.exitCode()).isEqualTo(0);
            List<String> lines = result.stdout().lines().toList();
            assertThat(lines).hasSize(2);
            return lines.get(1).replace(Long.toString(h.fencingToken()), "<token>");
        }

        @Override
        public void close() {
            service.disposeLater().then(backend.close()).block(BLOCK);
            TestRedis.shutdown(client);
        }
    }

    @Test
    void listReadsARedisStoreUnderItsKeyPrefix() throws Exception {
        try (RedisStore store = RedisStore.open("cli-list-", "worker-3")) {
            String[] cells = store.lineOfHeld(work, "nightly").split(" {2,}");
            assertThat(Arrays.asList(cells)).hasSize(8).startsWith("nightly", "EXCLUSIVE", "1", "0",
                    "<token>", "-").endsWith("worker-3");
        }
    }

    /**
     * A store's names and owners may hold spaces (an owner is any printable ASCII): {@code list} printed them as
     * they are, so the line of a lock {@code " a b\\c "} held by {@code " ops team "} had more than eight
     * space-separated cells, and where the name ended could not be told. Spaces are now printed as {@code \x20}.
     */
    @Test
    void listEscapesTheSpacesOfAStoresNamesAndOwners() throws Exception {
        try (RedisStore store = RedisStore.open("rl_kit_list-", " ops team ")) {
            String line = store.lineOfHeld(work, " a b\\c ");
            assertThat(line).matches("\\\\x20a\\\\x20b\\\\\\\\c\\\\x20  EXCLUSIVE  1        0        <token>  -"
                    + "           \\S+Z  \\\\x20ops\\\\x20team\\\\x20");
        }
    }

    @Test
    void badUrlsAndArgumentsNeverEchoAPassword() throws Exception {
        CliJar.Result unreachable = CliJar.run(work, "list", "postgresql://locks:s3cret@127.0.0.1:1/app");
        assertThat(unreachable.exitCode()).isEqualTo(1);
        assertThat(unreachable.stderr()).startsWith("reactive-locks list: cannot list the locks from table"
                + " 'reactive_locks' of postgresql://locks:***@127.0.0.1:1/app: ").doesNotContain("s3cret");

        CliJar.Result scheme = CliJar.run(work, "list", "mysql://root:s3cret@db/app");
        assertThat(scheme.exitCode()).isEqualTo(2);
        assertThat(scheme.stderr()).contains("has the unsupported scheme 'mysql'").doesNotContain("s3cret");

        CliJar.Result both = CliJar.run(work, "list", "--lock-dir", locks.toString(), "redis://:s3cret@host:6379");
        assertThat(both.exitCode()).isEqualTo(2);
        assertThat(both.stderr()).contains("Give either --lock-dir DIR or a URL, not both").doesNotContain("s3cret");

        CliJar.Result extra = CliJar.run(work, "list", "redis://:s3cret@host:6379", "redis://:s3cret@other:6379");
        assertThat(extra.exitCode()).isEqualTo(2);
        assertThat(extra.stderr()).doesNotContain("s3cret");
    }
}
