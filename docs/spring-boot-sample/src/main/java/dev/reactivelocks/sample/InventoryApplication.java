package dev.reactivelocks.sample;

import io.r2dbc.spi.ConnectionFactory;
import org.springframework.boot.SpringApplication;
import org.springframework.boot.autoconfigure.SpringBootApplication;
import org.springframework.context.annotation.Bean;
import org.springframework.r2dbc.core.DatabaseClient;

/**
 * A WebFlux inventory service whose instances share a PostgreSQL database: the stock in a table, and the locks
 * that keep two instances from selling the same last item ({@code reactive-locks.type=postgres} in
 * {@code application.properties}).
 */
@SpringBootApplication
public class InventoryApplication {

    public static void main(String[] args) {
        SpringApplication.run(InventoryApplication.class, args);
    }

    /** Statements on the application's R2DBC connection pool (from {@code spring.r2dbc.*}). */
    @Bean
    DatabaseClient databaseClient(ConnectionFactory connections) {
        return DatabaseClient.create(connections);
    }
}
