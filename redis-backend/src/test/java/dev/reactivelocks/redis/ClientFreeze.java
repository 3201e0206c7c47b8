package dev.reactivelocks.redis;

import io.lettuce.core.resource.ClientResources;
import io.lettuce.core.resource.DefaultClientResources;
import io.lettuce.core.resource.NettyCustomizer;
import io.netty.channel.Channel;
import io.netty.channel.ChannelDuplexHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelPromise;
import io.netty.util.ReferenceCountUtil;
import java.util.Queue;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Client resources whose connections can be frozen, as a wedged Lettuce endpoint or I/O thread leaves them: once
 * {@link #freeze()} is called, every connection of every client on these resources, open or opened later, stops
 * carrying bytes in either direction without being closed (what is written is never sent, what arrives is never
 * read), so commands, {@code PING}s and the handshake of new connections never complete: the state in which a
 * stuck I/O thread of the resources leaves every connection on it. Closing still works (the one difference from
 * a stuck I/O thread: the backend must notice the wedge from replacements that stall too). The Redis server is
 * real and untouched.
 */
final class ClientFreeze {

    private final Queue<Gate> gates = new ConcurrentLinkedQueue<>();
    private final ClientResources resources = DefaultClientResources.builder().nettyCustomizer(new NettyCustomizer() {
        @Override
        public void afterChannelInitialized(Channel channel) {
            Gate gate = new Gate(frozen);
            gates.add(gate);
            channel.closeFuture().addListener(f -> gates.remove(gate));
            if (gate.stuck) {
                openedWhileFrozen.incrementAndGet();
            }
            channel.pipeline().addFirst("rl-freeze", gate);
        }
    }).build();
    private final AtomicInteger openedWhileFrozen = new AtomicInteger();
    private volatile boolean frozen;

    /** The resources to create the user's client with; shut them down after the test. */
    ClientResources resources() {
        return resources;
    }

    /** Freezes every connection of the resources, the open ones and the ones opened until {@link #thaw()}. */
    void freeze() {
        frozen = true;
        gates.forEach(g -> g.stuck = true);
    }

    /** Connections opened from now on carry bytes again; a frozen connection stays frozen. */
    void thaw() {
        frozen = false;
    }

    /** How many connections were opened on the resources while they were frozen. */
    int openedWhileFrozen() {
        return openedWhileFrozen.get();
    }

    /** The first handler of one connection: passes bytes until the connection is frozen, then none. */
    private static final class Gate extends ChannelDuplexHandler {
        volatile boolean stuck;

        Gate(boolean stuck) {
            this.stuck = stuck;
        }

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            if (stuck) {
                ReferenceCountUtil.release(msg);
            } else {
                ctx.fireChannelRead(msg);
            }
        }

        @Override
        public void write(ChannelHandlerContext ctx, Object msg, ChannelPromise promise) {
            if (stuck) {
                ReferenceCountUtil.release(msg);   // never sent; the promise never completes
            } else {
                ctx.write(msg, promise);
            }
        }
    }
}
