package dev.reelflow.engine.backend;

import dev.reelflow.engine.EngineApi;

/**
 * The requested backend cannot run on this machine. The message says exactly what is missing (the
 * CUDA driver library, libtorch's CUDA build on the class path, a visible device, a device index)
 * and what to do; the engine never falls back to another device silently.
 */
@EngineApi
public final class BackendUnavailableException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  /** What is missing, for programs that react to it. */
  public enum Reason {
    /** libtorch (or its JNI bindings) could not be loaded at all. */
    LIBRARY_NOT_LOADABLE,
    /** The libtorch on the class path is the CPU build ({@code -Pcuda} selects the CUDA build). */
    NO_CUDA_BUILD,
    /** The NVIDIA driver library ({@code libcuda.so.1}) is not loadable. */
    NO_DRIVER,
    /** The driver sees no CUDA device. */
    NO_DEVICE,
    /** The requested device index is not present. */
    BAD_INDEX
  }

  private final Reason reason;

  public BackendUnavailableException(Reason reason, String message, Throwable cause) {
    super(message, cause);
    this.reason = reason;
  }

  public Reason reason() {
    return reason;
  }
}
