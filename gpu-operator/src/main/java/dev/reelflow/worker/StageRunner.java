package dev.reelflow.worker;

import dev.reelflow.schemas.avro.OutputArtifact;
import dev.reelflow.schemas.avro.RenderTask;
import dev.reelflow.worker.spi.EngineDescription;
import dev.reelflow.worker.spi.EngineException;
import dev.reelflow.worker.spi.EngineStatus;
import java.util.List;
import java.util.Map;

/** Runs one task of a pool with its engine and uploads what it produced. */
interface StageRunner extends AutoCloseable {

  /** Outputs (in upload order) and facts for the COMPLETED event. */
  record Result(List<OutputArtifact> outputs, Map<String, String> facts) {}

  EngineDescription describe();

  /** Whether the engine can take a task now (see {@link EngineStatus}). */
  default EngineStatus status() {
    return EngineStatus.ready();
  }

  /**
   * Runs the task.
   *
   * @throws EngineException with code and retryability; {@link IllegalArgumentException} for bad
   *     parameters; {@link dev.reelflow.storage.StorageException} for storage failures
   */
  Result run(RenderTask task, TaskRun run) throws EngineException, InterruptedException;

  @Override
  void close();
}
