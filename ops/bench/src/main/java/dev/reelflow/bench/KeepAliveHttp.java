package dev.reelflow.bench;

import java.io.BufferedInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.Locale;

/**
 * The ingest suite's load generator: one HTTP/1.1 keep-alive connection, one request at a time
 * (head and body in one write, the answer read by its Content-Length), like the connections of wrk
 * or h2load. The load generator shares the machine's cores with the service it measures, so it must
 * cost little: java.net.http's client spent about as much CPU per single POST as the ingest server
 * itself (its own selector and worker threads, futures and header maps per request), which the
 * producer baseline never pays. Not thread-safe: one per calling thread.
 */
final class KeepAliveHttp implements AutoCloseable {
  /** A status code and the body as text. */
  record Response(int status, String body) {}

  private final String host;
  private final int port;
  private final String authorization;
  private Socket socket;
  private OutputStream out;
  private InputStream in;

  KeepAliveHttp(String host, int port, String bearerKey) {
    this.host = host;
    this.port = port;
    this.authorization = "Bearer " + bearerKey;
  }

  /** POSTs {@code body}; reconnects once when the server closed the idle connection. */
  Response post(String path, String contentType, byte[] body) throws IOException {
    byte[] head =
        ("POST "
                + path
                + " HTTP/1.1\r\nHost: "
                + host
                + ":"
                + port
                + "\r\nAuthorization: "
                + authorization
                + "\r\nContent-Type: "
                + contentType
                + "\r\nContent-Length: "
                + body.length
                + "\r\n\r\n")
            .getBytes(StandardCharsets.ISO_8859_1);
    byte[] request = new byte[head.length + body.length];
    System.arraycopy(head, 0, request, 0, head.length);
    System.arraycopy(body, 0, request, head.length, body.length);
    boolean fresh = socket == null;
    if (fresh) {
      connect();
    }
    try {
      return exchange(request);
    } catch (EOFException e) {
      if (fresh) {
        throw e;
      }
      close(); // the server closed a kept-alive connection between requests: once more, anew
      connect();
      return exchange(request);
    }
  }

  private void connect() throws IOException {
    socket = new Socket();
    socket.setTcpNoDelay(true);
    socket.connect(new InetSocketAddress(host, port), 10_000);
    socket.setSoTimeout(120_000);
    out = socket.getOutputStream();
    in = new BufferedInputStream(socket.getInputStream(), 16 * 1024);
  }

  private Response exchange(byte[] request) throws IOException {
    out.write(request);
    out.flush();
    String status = line();
    if (!status.startsWith("HTTP/1.1 ") || status.length() < 12) {
      throw new IOException("not an HTTP/1.1 status line: " + status);
    }
    int code = Integer.parseInt(status.substring(9, 12));
    long length = -1;
    boolean close = false;
    for (String h = line(); !h.isEmpty(); h = line()) {
      int colon = h.indexOf(':');
      String name = colon < 0 ? h : h.substring(0, colon).trim().toLowerCase(Locale.ROOT);
      String value = colon < 0 ? "" : h.substring(colon + 1).trim();
      if (name.equals("content-length")) {
        length = Long.parseLong(value);
      } else if (name.equals("transfer-encoding")) {
        throw new IOException("chunked answers are not read by this client: " + value);
      } else if (name.equals("connection") && value.equalsIgnoreCase("close")) {
        close = true;
      }
    }
    if (length < 0) {
      throw new IOException("answer " + code + " without Content-Length");
    }
    byte[] body = in.readNBytes((int) length);
    if (body.length < length) {
      throw new EOFException("answer body ended early");
    }
    if (close) {
      close();
    }
    return new Response(code, new String(body, StandardCharsets.UTF_8));
  }

  private String line() throws IOException {
    StringBuilder sb = new StringBuilder(64);
    for (int c = in.read(); c != '\n'; c = in.read()) {
      if (c < 0) {
        throw new EOFException("connection closed");
      }
      if (c != '\r') {
        sb.append((char) c);
      }
    }
    return sb.toString();
  }

  @Override
  public void close() {
    if (socket != null) {
      try {
        socket.close();
      } catch (IOException e) {
        // closing a socket we are done with: nothing to do about a failure
      }
      socket = null;
    }
  }
}
