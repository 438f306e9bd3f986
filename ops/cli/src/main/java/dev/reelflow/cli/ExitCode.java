package dev.reelflow.cli;

/** Exit codes scripts can rely on. */
final class ExitCode {
  /** Everything asked for succeeded. */
  static final int OK = 0;

  /**
   * The command ran, but at least one render failed, was cancelled or expired (for {@code doctor}:
   * a check failed).
   */
  static final int RENDER_FAILED = 1;

  /** Bad flags or arguments, or no API address/key. */
  static final int USAGE = 2;

  /** The API answered with an error (4xx/5xx), or could not be reached. */
  static final int API_ERROR = 3;

  /** The render, batch or schedule does not exist (HTTP 404). */
  static final int NOT_FOUND = 4;

  /** Waiting ended before the renders finished (--timeout). */
  static final int TIMEOUT = 5;

  /** The requested device cannot run here (e.g. --backend cuda without a usable GPU). */
  static final int UNAVAILABLE = 6;

  /** A checked checkpoint folder has problems ({@code reelflow model check}). */
  static final int MODEL_INVALID = 7;

  private ExitCode() {}
}
