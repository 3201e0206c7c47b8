package dev.reactivelocks.spring;

import dev.reactivelocks.postgres.PostgresLockBackend;
import dev.reactivelocks.postgres.PostgresLockConfig;
import io.r2dbc.spi.ConnectionFactory;
import org.springframework.beans.factory.config.ConfigurableListableBeanFactory;

/** The PostgreSQL backend on the application's R2DBC {@link ConnectionFactory}; loaded only with type=postgres. */
final class PostgresBackends {

    private PostgresBackends() {
    }

    static PostgresLockBackend create(ReactiveLocksProperties props, ConfigurableListableBeanFactory beans,
                                      String serviceBean) {
        ConnectionFactory connections = Beans.unique(beans, ConnectionFactory.class, serviceBean,
                () -> new LockConfigurationPropertyException(LockServiceFactory.P + "type",
                        "is postgres, but the application has no single R2DBC ConnectionFactory bean",
                        "Define one ConnectionFactory bean (spring.r2dbc.url with spring-boot-r2dbc does), "
                                + "or change reactive-locks.type."));
        PostgresLockConfig.Builder config = PostgresLockConfig.builder();
        ReactiveLocksProperties.Postgres p = props.getPostgres();
        if (p.getTable() != null) {
            try {
                config.table(p.getTable());
            } catch (IllegalArgumentException e) {
                throw new LockConfigurationPropertyException(LockServiceFactory.P + "postgres.table", e.getMessage(),
                        "Set reactive-locks.postgres.table to a lower-case identifier such as locks.reactive_locks.",
                        e);
            }
        }
        if (p.getCreateTable() != null) {
            config.createTable(p.getCreateTable());
        }
        return PostgresLockBackend.create(connections, config.build());
    }
}
