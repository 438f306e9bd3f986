package dev.reelflow.stack;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.ServerSocket;

/** Picks ports that were free a moment ago, so that a service can be restarted on the same one. */
final class FreePorts {
  private FreePorts() {}

  static int pick() {
    try (ServerSocket socket = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      socket.setReuseAddress(true);
      return socket.getLocalPort();
    } catch (IOException e) {
      throw new UncheckedIOException("Could not find a free local port", e);
    }
  }

  /** Returns {@code configured} when it is set (> 0), otherwise a free port. */
  static int orFree(int configured) {
    return configured > 0 ? configured : pick();
  }
}
