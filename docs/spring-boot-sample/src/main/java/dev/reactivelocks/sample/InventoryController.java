package dev.reactivelocks.sample;

import dev.reactivelocks.LockTimeoutException;
import org.springframework.http.HttpStatus;
import org.springframework.http.ResponseEntity;
import org.springframework.web.bind.annotation.ExceptionHandler;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.PathVariable;
import org.springframework.web.bind.annotation.PostMapping;
import org.springframework.web.bind.annotation.PutMapping;
import org.springframework.web.bind.annotation.RequestBody;
import org.springframework.web.bind.annotation.RequestMapping;
import org.springframework.web.bind.annotation.RestController;
import reactor.core.publisher.Mono;

/** {@code /items/{item}}: plain-text answers. */
@RestController
@RequestMapping("/items/{item}")
class InventoryController {

    private final Inventory inventory;

    InventoryController(Inventory inventory) {
        this.inventory = inventory;
    }

    // tag::controller[]
    /** 201 reserved, 409 sold out, 404 unknown item; 503 when the item stayed locked for the whole timeout. */
    @PostMapping("/reservations")
    Mono<ResponseEntity<String>> reserve(@PathVariable String item) {
        return inventory.reserve(item)             // the lock is taken when WebFlux subscribes, released with the answer
                .map(reserved -> reserved ? ResponseEntity.status(HttpStatus.CREATED).body("reserved")
                        : ResponseEntity.status(HttpStatus.CONFLICT).body("sold out"))
                .defaultIfEmpty(ResponseEntity.notFound().build());
    }

    @ExceptionHandler(LockTimeoutException.class)
    ResponseEntity<String> busy(LockTimeoutException e) {
        return ResponseEntity.status(HttpStatus.SERVICE_UNAVAILABLE).body("busy, try again");
    }
    // end::controller[]

    @GetMapping
    Mono<ResponseEntity<String>> quantity(@PathVariable String item) {
        return inventory.quantity(item)
                .map(left -> ResponseEntity.ok(String.valueOf(left)))
                .defaultIfEmpty(ResponseEntity.notFound().build());
    }

    @PutMapping
    Mono<ResponseEntity<String>> restock(@PathVariable String item, @RequestBody String quantity) {
        return inventory.restock(item, Integer.parseInt(quantity.trim()))
                .thenReturn(ResponseEntity.ok(quantity.trim()));
    }
}
