package dev.reactivelocks.sample;

import dev.reactivelocks.LockMode;
import dev.reactivelocks.spring.WithLock;
import org.springframework.r2dbc.core.DatabaseClient;
import org.springframework.stereotype.Service;
import reactor.core.publisher.Mono;

/** The stock of each item, in the table {@code sample_inventory} (created by {@code schema.sql}). */
@Service
public class Inventory {

    private final DatabaseClient db;

    Inventory(DatabaseClient db) {
        this.db = db;
    }

    // tag::reserve[]
    /**
     * Takes one piece of {@code item}: {@code true} when there was one, {@code false} when sold out, empty for
     * an unknown item. The read and the write are two statements, and every instance of the service runs this:
     * without the lock, two instances could both read the last piece and both sell it.
     */
    @WithLock(name = "item-#{#item}", timeout = "${inventory.lock-timeout}")   // a lock in PostgreSQL
    public Mono<Boolean> reserve(String item) {
        return quantityOf(item)
                .flatMap(left -> left == 0 ? Mono.just(false)
                        : db.sql("UPDATE sample_inventory SET quantity = :quantity WHERE item = :item")
                                .bind("quantity", left - 1)
                                .bind("item", item)
                                .then()
                                .thenReturn(true));
    }

    /** How many pieces are left; readers of one item share its lock, so they never see a sale half done. */
    @WithLock(name = "item-#{#item}", mode = LockMode.SHARED, timeout = "${inventory.lock-timeout}")
    public Mono<Integer> quantity(String item) {
        return quantityOf(item);
    }
    // end::reserve[]

    /** Sets the stock of {@code item}, creating it if needed. */
    @WithLock(name = "item-#{#item}", timeout = "${inventory.lock-timeout}")
    public Mono<Void> restock(String item, int quantity) {
        return db.sql("INSERT INTO sample_inventory (item, quantity) VALUES (:item, :quantity) "
                        + "ON CONFLICT (item) DO UPDATE SET quantity = EXCLUDED.quantity")
                .bind("item", item)
                .bind("quantity", quantity)
                .then();
    }

    private Mono<Integer> quantityOf(String item) {
        return db.sql("SELECT quantity FROM sample_inventory WHERE item = :item")
                .bind("item", item)
                .map(row -> row.get("quantity", Integer.class))
                .one();
    }
}
