package dev.reelflow.cli;

import java.io.IOException;
import java.net.ServerSocket;

/** Finds a free local TCP port. */
final class FreePort {
  private FreePort() {}

  static int find() {
    try (ServerSocket socket = new ServerSocket(0)) {
      socket.setReuseAddress(true);
      return socket.getLocalPort();
    } catch (IOException e) {
      throw new CliException(ExitCode.API_ERROR, "no free port: " + e.getMessage(), e);
    }
  }
}
