package dev.reactivelocks.micrometer;

import dev.reactivelocks.LockService;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tag;
import io.micrometer.core.instrument.Tags;
import java.util.Objects;
import java.util.Set;

/**
 * Builds a {@link MeteredLockService}. Obtain one from {@link MeteredLockService#builder}.
 *
 * <pre>{@code
 * MeteredLockService locks = MeteredLockService.builder(delegate, registry)
 *         .serviceName("orders")
 *         .lockNameTag(true)                 // only when lock names are few and fixed
 *         .tags(Tags.of("region", "eu"))
 *         .build();
 * }</pre>
 *
 * <p>Not thread-safe; the built service is.
 */
public final class MeteredLockServiceBuilder {

    private static final Set<String> RESERVED = Set.of(
            LockMeters.TAG_SERVICE, LockMeters.TAG_MODE, LockMeters.TAG_LOCK, LockMeters.TAG_EXCEPTION);

    private final LockService delegate;
    private final MeterRegistry registry;
    private String serviceName = "default";
    private boolean lockNameTag;
    private Tags tags = Tags.empty();

    MeteredLockServiceBuilder(LockService delegate, MeterRegistry registry) {
        this.delegate = Objects.requireNonNull(delegate, "delegate");
        this.registry = Objects.requireNonNull(registry, "registry");
    }

    /**
     * The value of the {@code service} tag on every meter; must be unique among the live metered services
     * of one registry. Defaults to {@code "default"}.
     *
     * @param serviceName the name, not empty
     * @return this builder
     * @throws IllegalArgumentException if {@code serviceName} is empty
     */
    public MeteredLockServiceBuilder serviceName(String serviceName) {
        Objects.requireNonNull(serviceName, "serviceName");
        if (serviceName.isEmpty()) {
            throw new IllegalArgumentException("serviceName must not be empty");
        }
        this.serviceName = serviceName;
        return this;
    }

    /**
     * Whether every meter also carries a {@code lock} tag with the lock name as given to the metered service
     * (for a {@code withPrefix} view of it, the prefixed name). Each distinct name then gets
     * its own meters, kept until the service is disposed, so enable it only for a small, fixed set of
     * names. Defaults to {@code false}.
     *
     * @param lockNameTag {@code true} to tag by lock name
     * @return this builder
     */
    public MeteredLockServiceBuilder lockNameTag(boolean lockNameTag) {
        this.lockNameTag = lockNameTag;
        return this;
    }

    /**
     * Extra tags added to every meter (e.g. an application or region). Keys {@code service}, {@code mode},
     * {@code lock} and {@code exception} are reserved. Defaults to none.
     *
     * @param tags the extra tags; replaces earlier ones
     * @return this builder
     * @throws IllegalArgumentException if a tag uses a reserved key
     */
    public MeteredLockServiceBuilder tags(Iterable<Tag> tags) {
        Tags extra = Tags.of(Objects.requireNonNull(tags, "tags"));
        for (Tag tag : extra) {
            if (RESERVED.contains(tag.getKey())) {
                throw new IllegalArgumentException("tag key '" + tag.getKey() + "' is reserved, was " + tag);
            }
        }
        this.tags = extra;
        return this;
    }

    /**
     * @return a new metered view of the delegate; its meters are registered now (or, with
     *     {@link #lockNameTag(boolean)}, at each name's first acquisition)
     * @throws IllegalStateException if a live service with this {@code serviceName} is already metered in
     *     the registry
     */
    public MeteredLockService build() {
        return new MeteredLockService(delegate, registry, serviceName, tags, lockNameTag);
    }
}
