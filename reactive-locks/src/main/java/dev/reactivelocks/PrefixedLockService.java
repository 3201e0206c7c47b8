package dev.reactivelocks;

import dev.reactivelocks.spi.ForwardingLockService;
import java.util.Objects;
import java.util.function.Function;
import org.reactivestreams.Publisher;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;

/**
 * A view of a {@link LockService} that prepends {@code prefix-} to every name. Names are checked as the
 * delegate checks them: an empty name is refused at assembly, not turned into the lock {@code prefix-}.
 */
final class PrefixedLockService extends ForwardingLockService {

    private final String prefix;

    private PrefixedLockService(LockService delegate, String prefix) {
        super(delegate);
        this.prefix = prefix;
    }

    static LockService of(LockService delegate, String prefix) {
        Objects.requireNonNull(prefix, "prefix");
        String normalized = prefix.endsWith("-") ? prefix : prefix + "-";
        if (normalized.length() == 1) {
            throw new IllegalArgumentException("prefix must not be empty, was '" + prefix + "'");
        }
        return new PrefixedLockService(delegate, normalized);
    }

    /** The delegate's name for {@code name}; an empty name is refused as the delegate refuses it. */
    private String name(String name) {
        Objects.requireNonNull(name, "name");
        if (name.isEmpty()) {
            throw new IllegalArgumentException("name must not be empty");
        }
        return prefix + name;
    }

    @Override
    public Mono<LockHandle> acquire(String name, LockOptions options) {
        return delegate().acquire(name(name), options);
    }

    @Override
    public Mono<LockHandle> tryAcquire(String name, LockOptions options) {
        return delegate().tryAcquire(name(name), options);
    }

    @Override
    public <T> Mono<T> withLock(String name, LockOptions options,
                                Function<? super LockHandle, ? extends Mono<T>> body) {
        return delegate().withLock(name(name), options, body);
    }

    @Override
    public <T> Flux<T> withLockMany(String name, LockOptions options,
                                    Function<? super LockHandle, ? extends Publisher<T>> body) {
        return delegate().withLockMany(name(name), options, body);
    }

    /** {@inheritDoc} The info carries the name as this view knows it, without the prefix. */
    @Override
    public Mono<LockInfo> inspect(String name) {
        return delegate().inspect(name(name)).map(info -> info.withName(name));
    }

    /** {@inheritDoc} The infos carry the names as this view knows them, without the prefix. */
    @Override
    public Flux<LockInfo> locks(String prefix) {
        Objects.requireNonNull(prefix, "prefix");
        return delegate().locks(this.prefix + prefix)
                .filter(info -> info.name().length() > this.prefix.length())
                .map(info -> info.withName(info.name().substring(this.prefix.length())));
    }

    @Override
    public LockService withPrefix(String prefix) {
        Objects.requireNonNull(prefix, "prefix");
        if (prefix.isEmpty() || prefix.equals("-")) {
            throw new IllegalArgumentException("prefix must not be empty, was '" + prefix + "'");
        }
        return of(delegate(), name(prefix));
    }

    @Override
    public void dispose() {
        delegate().dispose();
    }

    @Override
    public String toString() {
        return delegate() + "[prefix=" + prefix + "]";
    }
}
