package dev.reelflow.worker.spi;

import dev.reelflow.schemas.avro.ErrorCode;
import java.util.Objects;

/**
 * An engine failure with the code and retryability the runtime reports in the FAILED stage event.
 * Use the factory methods: out of memory and engine errors are retryable (another worker or attempt
 * may succeed), bad parameters are permanent.
 */
public class EngineException extends Exception {
  private static final long serialVersionUID = 1L;

  private final ErrorCode code;
  private final boolean retryable;

  public EngineException(ErrorCode code, String message, boolean retryable, Throwable cause) {
    super(message, cause);
    this.code = Objects.requireNonNull(code, "code");
    this.retryable = retryable;
  }

  /** The device ran out of memory; another attempt (maybe on a bigger device) may succeed. */
  public static EngineException outOfMemory(String message, Throwable cause) {
    return new EngineException(ErrorCode.OUT_OF_MEMORY, message, true, cause);
  }

  /**
   * The GPU ran out of memory for this task: permanent, because the same task would fail again on
   * the same device class; the worker stays up (the backend freed what the operation allocated).
   */
  public static EngineException deviceOutOfMemory(String message, Throwable cause) {
    return new EngineException(ErrorCode.OUT_OF_MEMORY, message, false, cause);
  }

  /** The engine failed for a reason that another attempt may not repeat. */
  public static EngineException engineError(String message, Throwable cause) {
    return new EngineException(ErrorCode.ENGINE_ERROR, message, true, cause);
  }

  /** The task asks for something this engine can never do; retrying cannot help. */
  public static EngineException badParameters(String message) {
    return new EngineException(ErrorCode.BAD_PARAMETERS, message, false, null);
  }

  /** The engine did not finish within its time limit. */
  public static EngineException timeout(String message) {
    return new EngineException(ErrorCode.TIMEOUT, message, true, null);
  }

  public ErrorCode code() {
    return code;
  }

  public boolean retryable() {
    return retryable;
  }
}
