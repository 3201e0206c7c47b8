package dev.reactivelocks.postgres;

import dev.reactivelocks.testkit.servers.TestPostgres;
import io.r2dbc.postgresql.PostgresqlConnectionConfiguration;
import io.r2dbc.postgresql.PostgresqlConnectionFactory;
import java.io.DataInputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A TCP relay on 127.0.0.1 between the client and the test's PostgreSQL server that reads the frontend/backend
 * protocol as it passes and counts what the server is asked: round trips (a {@code Sync} ends each extended-query
 * exchange, a {@code Query} is one simple-query exchange), statements executed, statements parsed (prepared),
 * and transactions ended (a {@code ReadyForQuery} reporting no open transaction block: the end of each
 * auto-commit exchange, or of an explicit transaction; the one after log-in too). Nothing is changed on the
 * way; the relay runs on plain threads of its own. The connections must not use SSL (the default of
 * {@link #connectionFactory}).
 */
final class WireCounter implements AutoCloseable {

    private static final int SSL_REQUEST = 80877103;
    private static final int GSS_REQUEST = 80877104;

    private final TestPostgres server = TestPostgres.get();
    private final ServerSocket listener;
    private final List<Socket> sockets = new CopyOnWriteArrayList<>();
    private final Thread acceptor;
    private final AtomicInteger connections = new AtomicInteger();
    private final AtomicInteger roundTrips = new AtomicInteger();
    private final AtomicInteger statements = new AtomicInteger();
    private final AtomicInteger parsed = new AtomicInteger();
    private final AtomicInteger transactions = new AtomicInteger();
    private volatile boolean closed;

    WireCounter() throws IOException {
        listener = new ServerSocket();
        listener.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
        acceptor = new Thread(this::accept, "wire-counter");
        acceptor.setDaemon(true);
        acceptor.start();
    }

    /** A factory whose connections pass through this relay. */
    PostgresqlConnectionFactory connectionFactory(String applicationName) {
        PostgresqlConnectionConfiguration.Builder config = PostgresqlConnectionConfiguration.builder()
                .host(listener.getInetAddress().getHostAddress()).port(listener.getLocalPort())
                .username(server.username()).database(server.database()).applicationName(applicationName)
                .connectTimeout(Duration.ofSeconds(5));
        if (server.password() != null) {
            config.password(server.password());
        }
        return new PostgresqlConnectionFactory(config.build());
    }

    /** What the server was asked so far. */
    Counts counts() {
        return new Counts(connections.get(), roundTrips.get(), statements.get(), parsed.get(), transactions.get());
    }

    /** Counts of the relay; {@link #minus} gives those of an interval. */
    record Counts(int connections, int roundTrips, int statements, int parsed, int transactions) {

        Counts minus(Counts before) {
            return new Counts(connections - before.connections, roundTrips - before.roundTrips,
                    statements - before.statements, parsed - before.parsed, transactions - before.transactions);
        }
    }

    private void accept() {
        while (!closed) {
            try {
                Socket client = listener.accept();
                Socket upstream = new Socket(server.host(), server.port());
                client.setTcpNoDelay(true);
                upstream.setTcpNoDelay(true);
                sockets.add(client);
                sockets.add(upstream);
                connections.incrementAndGet();
                pump("wire-counter-client", client, upstream, this::frontend);
                pump("wire-counter-server", upstream, client, this::backend);
            } catch (IOException e) {
                if (!closed) {
                    throw new IllegalStateException("relay failed", e);
                }
            }
        }
    }

    private interface Reader {
        void read(DataInputStream in, OutputStream out) throws IOException;
    }

    private void pump(String threadName, Socket from, Socket to, Reader reader) {
        Thread t = new Thread(() -> {
            try (DataInputStream in = new DataInputStream(from.getInputStream());
                 OutputStream out = to.getOutputStream()) {
                reader.read(in, out);
            } catch (IOException e) {
                closeQuietly(from);
                closeQuietly(to);
            }
        }, threadName);
        t.setDaemon(true);
        t.start();
    }

    /** Client to server: untyped start-up messages, then typed messages. */
    private void frontend(DataInputStream in, OutputStream out) throws IOException {
        byte[] startUp = relay(in, out, in.readInt(), -1);
        int code = ((startUp[0] & 0xff) << 24) | ((startUp[1] & 0xff) << 16) | ((startUp[2] & 0xff) << 8)
                | (startUp[3] & 0xff);
        if (code == SSL_REQUEST || code == GSS_REQUEST) {
            throw new IOException("the counting relay reads plain connections only");
        }
        for (;;) {
            int type = in.readUnsignedByte();
            int length = in.readInt();
            switch (type) {
                case 'S', 'Q' -> roundTrips.incrementAndGet();
                default -> { }
            }
            switch (type) {
                case 'E', 'Q' -> statements.incrementAndGet();
                case 'P' -> parsed.incrementAndGet();
                default -> { }
            }
            relay(in, out, length, type);
        }
    }

    /** Server to client: typed messages; ReadyForQuery carries the transaction status. */
    private void backend(DataInputStream in, OutputStream out) throws IOException {
        for (;;) {
            int type = in.readUnsignedByte();
            int length = in.readInt();
            byte[] body = relay(in, out, length, type);
            if (type == 'Z' && body[0] == 'I') {
                transactions.incrementAndGet();
            }
        }
    }

    /** Forwards one message (its type, if any, and length were read already) and returns its body. */
    private static byte[] relay(DataInputStream in, OutputStream out, int length, int type) throws IOException {
        byte[] body = new byte[length - 4];
        in.readFully(body);
        byte[] frame = new byte[(type < 0 ? 0 : 1) + length];
        int at = 0;
        if (type >= 0) {
            frame[at++] = (byte) type;
        }
        frame[at++] = (byte) (length >>> 24);
        frame[at++] = (byte) (length >>> 16);
        frame[at++] = (byte) (length >>> 8);
        frame[at++] = (byte) length;
        System.arraycopy(body, 0, frame, at, body.length);
        out.write(frame);
        out.flush();
        return body;
    }

    private static void closeQuietly(Socket s) {
        try {
            s.close();
        } catch (IOException e) {
            // closing
        }
    }

    @Override
    public void close() throws IOException {
        closed = true;
        listener.close();
        sockets.forEach(WireCounter::closeQuietly);
    }
}
