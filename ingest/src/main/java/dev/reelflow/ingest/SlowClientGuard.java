package dev.reelflow.ingest;

import java.time.Duration;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.eclipse.jetty.io.Connection;
import org.eclipse.jetty.server.AbstractConnector;
import org.eclipse.jetty.server.Connector;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.util.component.LifeCycle;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Cuts off slow clients (slowloris) at the connection level: the HTTP server parses request heads
 * without holding a thread, so a client trickling its headers costs no thread but keeps a
 * connection (a file descriptor) open for as long as it sends a byte before each idle timeout. This
 * guard closes, without an answer, a connection that has not sent one complete request head within
 * {@code ingest.http.header-timeout} of opening. Bodies are read on a request thread and held to
 * {@code ingest.http.min-body-rate} by {@link RequestBodies}; a silent connection is closed by
 * {@code ingest.http.idle-timeout}.
 */
final class SlowClientGuard implements Connection.Listener, AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(SlowClientGuard.class);

  private final Duration headerTimeout;
  private final Duration idleTimeout;
  private final ScheduledExecutorService timer =
      Executors.newSingleThreadScheduledExecutor(
          r -> {
            Thread t = new Thread(r, "ingest-slow-client-guard");
            t.setDaemon(true);
            return t;
          });
  private final AtomicLong cutOff = new AtomicLong();

  SlowClientGuard(Duration headerTimeout, Duration idleTimeout) {
    this.headerTimeout = headerTimeout;
    this.idleTimeout = idleTimeout;
  }

  /** Installs the guard and the idle timeout on every connector of {@code server} at start. */
  void install(Server server) {
    server.addEventListener(
        new LifeCycle.Listener() {
          @Override
          public void lifeCycleStarting(LifeCycle event) {
            for (Connector c : server.getConnectors()) {
              if (c instanceof AbstractConnector a) {
                a.setIdleTimeout(idleTimeout.toMillis());
                a.addEventListener(SlowClientGuard.this);
              }
            }
          }
        });
  }

  @Override
  public void onOpened(Connection connection) {
    timer.schedule(
        () -> {
          // getMessagesIn counts request heads parsed on this connection.
          if (connection.getEndPoint().isOpen() && connection.getMessagesIn() == 0) {
            cutOff.incrementAndGet();
            LOG.debug(
                "closing {}: no complete request head within {}",
                connection.getEndPoint().getRemoteSocketAddress(),
                headerTimeout);
            connection.getEndPoint().close();
          }
        },
        headerTimeout.toMillis(),
        TimeUnit.MILLISECONDS);
  }

  @Override
  public void onClosed(Connection connection) {
    // nothing to release: the scheduled check finds the endpoint closed
  }

  /** Connections closed for not sending a request head in time. */
  long cutOff() {
    return cutOff.get();
  }

  @Override
  public void close() {
    timer.shutdownNow();
  }
}
