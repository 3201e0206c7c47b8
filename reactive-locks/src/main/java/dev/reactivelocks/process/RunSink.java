package dev.reactivelocks.process;

import java.util.concurrent.atomic.AtomicLongFieldUpdater;
import org.jspecify.annotations.Nullable;
import reactor.core.publisher.FluxSink;
import reactor.core.publisher.MonoSink;
import reactor.core.publisher.Operators;

/** Where a run delivers its output and its end: a {@code Flux} of outputs, or a collecting {@code Mono}. */
abstract class RunSink {

    /** @return {@code true} when all output is collected into the result (unbounded demand) */
    abstract boolean collects();

    /** @return the outstanding demand for outputs */
    abstract long demand();

    /** Emits one output; only called when {@link #demand()} is positive. */
    abstract void next(ProcessOutput output);

    abstract void success(@Nullable ProcessResult result);

    abstract void error(Throwable error);

    /** The {@code stream(spec)} side: a {@code FluxSink} with demand counted here. */
    static final class ToFlux extends RunSink {
        private final FluxSink<ProcessOutput> sink;
        private static final AtomicLongFieldUpdater<ToFlux> REQUESTED =
                AtomicLongFieldUpdater.newUpdater(ToFlux.class, "requested");

        private volatile long requested;

        ToFlux(FluxSink<ProcessOutput> sink) {
            this.sink = sink;
        }

        void request(long n) {
            Operators.addCap(REQUESTED, this, n);
        }

        @Override
        boolean collects() {
            return false;
        }

        @Override
        long demand() {
            return requested;
        }

        @Override
        void next(ProcessOutput output) {
            if (requested != Long.MAX_VALUE) {
                REQUESTED.decrementAndGet(this);
            }
            sink.next(output);
        }

        @Override
        void success(@Nullable ProcessResult result) {
            sink.complete();
        }

        @Override
        void error(Throwable error) {
            sink.error(error);
        }
    }

    /** The {@code execute(spec)} side. */
    static final class ToMono extends RunSink {
        private final MonoSink<ProcessResult> sink;

        ToMono(MonoSink<ProcessResult> sink) {
            this.sink = sink;
        }

        @Override
        boolean collects() {
            return true;
        }

        @Override
        long demand() {
            return Long.MAX_VALUE;
        }

        @Override
        void next(ProcessOutput output) {
            throw new IllegalStateException("a collecting run emits no outputs");
        }

        @Override
        void success(@Nullable ProcessResult result) {
            sink.success(result);
        }

        @Override
        void error(Throwable error) {
            sink.error(error);
        }
    }
}
