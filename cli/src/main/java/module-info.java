/**
 * The {@code reactive-locks} command line ({@code run}, {@code wrapper}, {@code list}, {@code purge}). An
 * application: it exports nothing; picocli reads its commands by reflection.
 */
module dev.reactivelocks.cli {
    requires dev.reactivelocks;
    requires dev.reactivelocks.postgres;
    requires dev.reactivelocks.redis;
    requires info.picocli;
    requires static org.jspecify;

    opens dev.reactivelocks.cli to info.picocli;
}
