package dev.reactivelocks.process;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * Resource limits for a child process, the counterpart of oslo.concurrency's {@code ProcessLimits}. They are
 * applied with util-linux {@code prlimit}, which sets each limit (soft and hard) on itself and then executes
 * the command; a run whose spec has limits fails with {@link IllegalStateException} when {@code prlimit} is
 * not installed.
 *
 * <pre>{@code
 * ProcessLimits limits = ProcessLimits.builder().addressSpace(512L << 20).cpuTime(Duration.ofSeconds(30)).build();
 * }</pre>
 *
 * <p>Instances are immutable and thread-safe.
 */
public final class ProcessLimits {

    /** The limits {@code prlimit} knows; the option names are {@code prlimit}'s. */
    enum Resource {
        ADDRESS_SPACE("--as"),
        CORE_FILE_SIZE("--core"),
        CPU_TIME("--cpu"),
        DATA_SIZE("--data"),
        FILE_SIZE("--fsize"),
        MEMORY_LOCKED("--memlock"),
        OPEN_FILES("--nofile"),
        PROCESSES("--nproc"),
        RESIDENT_SET_SIZE("--rss"),
        STACK_SIZE("--stack");

        final String option;

        Resource(String option) {
            this.option = option;
        }
    }

    private static final ProcessLimits NONE = new ProcessLimits(new EnumMap<>(Resource.class));

    private final Map<Resource, Long> values;

    private ProcessLimits(EnumMap<Resource, Long> values) {
        this.values = Collections.unmodifiableMap(new EnumMap<>(values));
    }

    /** @return limits that limit nothing */
    public static ProcessLimits none() {
        return NONE;
    }

    /** @return a builder without limits */
    public static Builder builder() {
        return new Builder();
    }

    /** @return {@code true} when no limit is set */
    public boolean isEmpty() {
        return values.isEmpty();
    }

    /** @return the {@code prlimit} options for these limits, e.g. {@code --as=536870912} */
    List<String> prlimitOptions() {
        List<String> options = new ArrayList<>(values.size());
        values.forEach((resource, value) -> options.add(resource.option + "=" + value));
        return options;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof ProcessLimits && ((ProcessLimits) o).values.equals(values);
    }

    @Override
    public int hashCode() {
        return values.hashCode();
    }

    @Override
    public String toString() {
        return "ProcessLimits" + values;
    }

    /** Builds {@link ProcessLimits}; every limit is unset by default. Not thread-safe. */
    public static final class Builder {

        private final EnumMap<Resource, Long> values = new EnumMap<>(Resource.class);

        private Builder() {
        }

        private Builder set(Resource resource, String name, long value) {
            if (value < 0) {
                throw new IllegalArgumentException(name + " must be >= 0, was " + value);
            }
            values.put(resource, value);
            return this;
        }

        /**
         * @param bytes maximum virtual memory (address space), {@code RLIMIT_AS}; oslo {@code address_space}
         * @return this builder
         */
        public Builder addressSpace(long bytes) {
            return set(Resource.ADDRESS_SPACE, "addressSpace", bytes);
        }

        /**
         * @param bytes maximum size of core files, {@code RLIMIT_CORE}; oslo {@code core_file_size}
         * @return this builder
         */
        public Builder coreFileSize(long bytes) {
            return set(Resource.CORE_FILE_SIZE, "coreFileSize", bytes);
        }

        /**
         * @param cpuTime maximum CPU time, whole seconds, {@code RLIMIT_CPU}; oslo {@code cpu_time}
         * @return this builder
         */
        public Builder cpuTime(Duration cpuTime) {
            Objects.requireNonNull(cpuTime, "cpuTime");
            if (cpuTime.isNegative() || cpuTime.getNano() != 0) {
                throw new IllegalArgumentException("cpuTime must be whole seconds >= 0, was " + cpuTime);
            }
            return set(Resource.CPU_TIME, "cpuTime", cpuTime.getSeconds());
        }

        /**
         * @param bytes maximum data segment size, {@code RLIMIT_DATA}; oslo {@code data_size}
         * @return this builder
         */
        public Builder dataSize(long bytes) {
            return set(Resource.DATA_SIZE, "dataSize", bytes);
        }

        /**
         * @param bytes maximum size of files the process creates, {@code RLIMIT_FSIZE}; oslo {@code file_size}
         * @return this builder
         */
        public Builder fileSize(long bytes) {
            return set(Resource.FILE_SIZE, "fileSize", bytes);
        }

        /**
         * @param bytes maximum locked memory, {@code RLIMIT_MEMLOCK}; oslo {@code memory_locked}
         * @return this builder
         */
        public Builder memoryLocked(long bytes) {
            return set(Resource.MEMORY_LOCKED, "memoryLocked", bytes);
        }

        /**
         * @param count maximum number of open files, {@code RLIMIT_NOFILE}; oslo {@code number_files}
         * @return this builder
         */
        public Builder openFiles(long count) {
            return set(Resource.OPEN_FILES, "openFiles", count);
        }

        /**
         * @param count maximum number of processes of the user, {@code RLIMIT_NPROC}; oslo {@code number_processes}
         * @return this builder
         */
        public Builder processes(long count) {
            return set(Resource.PROCESSES, "processes", count);
        }

        /**
         * @param bytes maximum resident set size, {@code RLIMIT_RSS}; oslo {@code resident_set_size}
         * @return this builder
         */
        public Builder residentSetSize(long bytes) {
            return set(Resource.RESIDENT_SET_SIZE, "residentSetSize", bytes);
        }

        /**
         * @param bytes maximum stack size, {@code RLIMIT_STACK}; oslo {@code stack_size}
         * @return this builder
         */
        public Builder stackSize(long bytes) {
            return set(Resource.STACK_SIZE, "stackSize", bytes);
        }

        /** @return the immutable limits */
        public ProcessLimits build() {
            return values.isEmpty() ? NONE : new ProcessLimits(values);
        }
    }
}
