package dev.reelflow.e2e;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A TCP proxy on a loopback port in front of another endpoint that can be frozen: while frozen it
 * keeps every connection open and accepts new ones, but forwards no byte in either direction, the
 * way a SIGSTOPped server process (or a stalled network path) behaves to its clients: requests
 * hang, nothing is refused or closed. {@link #thaw()} forwards what was held back. When the
 * upstream endpoint is down, a new connection is closed at once (a refused upstream seen through a
 * load balancer).
 */
final class FreezableTcpProxy implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(FreezableTcpProxy.class);

  private final ServerSocket server;
  private final InetSocketAddress upstream;
  private final Set<Socket> open = ConcurrentHashMap.newKeySet();
  private final Object gate = new Object();
  private volatile boolean frozen;
  private volatile boolean closed;

  private FreezableTcpProxy(ServerSocket server, InetSocketAddress upstream) {
    this.server = server;
    this.upstream = upstream;
  }

  /** Starts a proxy on a free loopback port forwarding to {@code host:port}. */
  static FreezableTcpProxy start(String host, int port) throws IOException {
    ServerSocket s = new ServerSocket(0, 200, InetAddress.getLoopbackAddress());
    FreezableTcpProxy p = new FreezableTcpProxy(s, new InetSocketAddress(host, port));
    Thread t = new Thread(p::acceptLoop, "tcp-proxy-accept-" + s.getLocalPort());
    t.setDaemon(true);
    t.start();
    return p;
  }

  int port() {
    return server.getLocalPort();
  }

  /** Stops forwarding; connections stay open. */
  void freeze() {
    frozen = true;
    LOG.info("proxy {} → {} frozen", port(), upstream);
  }

  /** Forwards again, including everything held back while frozen. */
  void thaw() {
    synchronized (gate) {
      frozen = false;
      gate.notifyAll();
    }
    LOG.info("proxy {} → {} thawed", port(), upstream);
  }

  private void awaitThawed() throws InterruptedException {
    synchronized (gate) {
      while (frozen && !closed) {
        gate.wait(200);
      }
    }
  }

  private void acceptLoop() {
    while (!closed) {
      Socket client;
      try {
        client = server.accept();
      } catch (IOException e) {
        if (!closed) {
          LOG.warn("proxy {} accept failed: {}", port(), e.toString());
        }
        return;
      }
      Thread t = new Thread(() -> connect(client), "tcp-proxy-conn");
      t.setDaemon(true);
      t.start();
    }
  }

  private void connect(Socket client) {
    open.add(client);
    Socket up = new Socket();
    try {
      awaitThawed();
      up.connect(upstream, 5_000);
      open.add(up);
    } catch (IOException | InterruptedException e) {
      closeQuietly(client);
      closeQuietly(up);
      return;
    }
    Thread back = new Thread(() -> pump(up, client), "tcp-proxy-down");
    back.setDaemon(true);
    back.start();
    pump(client, up);
  }

  private void pump(Socket from, Socket to) {
    byte[] buf = new byte[64 * 1024];
    try (InputStream in = from.getInputStream();
        OutputStream out = to.getOutputStream()) {
      int n;
      while ((n = in.read(buf)) >= 0) {
        awaitThawed();
        out.write(buf, 0, n);
        out.flush();
      }
    } catch (IOException | InterruptedException e) {
      // one side closed or reset: close both below
    } finally {
      closeQuietly(from);
      closeQuietly(to);
    }
  }

  private void closeQuietly(Socket s) {
    open.remove(s);
    try {
      s.close();
    } catch (IOException ignored) {
      // closing
    }
  }

  @Override
  public void close() {
    closed = true;
    thaw();
    try {
      server.close();
    } catch (IOException ignored) {
      // closing
    }
    open.forEach(this::closeQuietly);
  }
}
