package dev.reelflow.worker;

import dev.reelflow.engine.StepListener;
import dev.reelflow.schemas.avro.ErrorCode;
import dev.reelflow.worker.spi.EngineContext;
import dev.reelflow.worker.spi.TaskCancelledException;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.IntConsumer;

/** Engine context for engine tests: records steps and cancels on request. */
final class RecordingContext implements EngineContext {
  final Path dir;
  final List<String> steps = new CopyOnWriteArrayList<>();
  volatile ErrorCode cancel;
  volatile IntConsumer onStep = k -> {};

  RecordingContext(Path dir) {
    this.dir = dir;
  }

  @Override
  public String taskId() {
    return "r-1:BASE:1";
  }

  @Override
  public Path workDir() {
    return dir;
  }

  @Override
  public long deviceMemoryBudgetBytes() {
    return 0;
  }

  @Override
  public boolean offloadWeights() {
    return false;
  }

  @Override
  public boolean cancelRequested() {
    return cancel != null;
  }

  @Override
  public void checkCancelled() throws TaskCancelledException {
    if (cancel != null) {
      throw new TaskCancelledException(cancel, "test cancel");
    }
  }

  @Override
  public StepListener listener() {
    return (phase, done, total) -> {
      steps.add(phase + " " + done + "/" + total);
      onStep.accept(done);
    };
  }
}
