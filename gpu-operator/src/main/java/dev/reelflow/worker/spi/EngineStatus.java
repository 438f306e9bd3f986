package dev.reelflow.worker.spi;

import java.util.Objects;

/**
 * Whether an engine can take a task now. Most engines are always {@link State#READY}; an engine
 * that loads its model in the background or restarts an external program (the {@code resident}
 * engine) is not ready meanwhile, and the runtime then announces its slot without a free slot, with
 * the reason, on render.worker-events.
 *
 * @param state what the engine is doing
 * @param reason why it is not ready, for operators (logs, worker events, {@code /healthz}); empty
 *     when ready. Keep it stable while the state lasts: every change is announced.
 */
public record EngineStatus(State state, String reason) {

  /** What the engine is doing. */
  public enum State {
    /** Takes a task now. */
    READY,
    /** Loading its model (at start, or again after a restart); takes tasks once loaded. */
    LOADING,
    /** Up, but its capacity is taken by another slot sharing it. */
    BUSY,
    /** Gave up (e.g. its program failed to start repeatedly); the reason says what to fix. */
    UNAVAILABLE
  }

  private static final EngineStatus READY_NOW = new EngineStatus(State.READY, "");

  public EngineStatus {
    Objects.requireNonNull(state, "state");
    reason = reason == null ? "" : reason;
  }

  public static EngineStatus ready() {
    return READY_NOW;
  }

  public static EngineStatus loading(String reason) {
    return new EngineStatus(State.LOADING, reason);
  }

  public static EngineStatus busy(String reason) {
    return new EngineStatus(State.BUSY, reason);
  }

  public static EngineStatus unavailable(String reason) {
    return new EngineStatus(State.UNAVAILABLE, reason);
  }

  public boolean isReady() {
    return state == State.READY;
  }
}
