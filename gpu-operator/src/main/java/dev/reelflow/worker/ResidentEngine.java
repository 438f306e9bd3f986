package dev.reelflow.worker;

import dev.reelflow.schemas.avro.ErrorCode;
import dev.reelflow.worker.ResidentProgram.Outcome;
import dev.reelflow.worker.ResidentProtocol.Message;
import dev.reelflow.worker.spi.BaseVideoEngine;
import dev.reelflow.worker.spi.BaseVideoJob;
import dev.reelflow.worker.spi.BaseVideoResult;
import dev.reelflow.worker.spi.EngineContext;
import dev.reelflow.worker.spi.EngineDescription;
import dev.reelflow.worker.spi.EngineException;
import dev.reelflow.worker.spi.EngineSettings;
import dev.reelflow.worker.spi.EngineStatus;
import dev.reelflow.worker.spi.Latents;
import dev.reelflow.worker.spi.UpscaleEngine;
import dev.reelflow.worker.spi.UpscaleJob;
import dev.reelflow.worker.spi.UpscaleResult;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * The {@code resident} engine of both pools: a model program that the worker starts once (per slot,
 * or per process) and keeps loaded, sending it one task at a time over the JSON-lines protocol of
 * {@code gpu-operator/docs/resident-protocol.md} (options: {@link ResidentOptions}).
 *
 * <p>Base stage: the program writes the video (any container FFmpeg reads) and, when an upscale
 * stage follows, the latents ({@code latents.safetensors}, F32 tensor {@code latents}) into the
 * task directory. Upscale stage: it reads the base preview (and latents when the base stage wrote
 * them) and writes the upscaled video, which this engine decodes to frames spooled on disk.
 */
final class ResidentEngine implements BaseVideoEngine, UpscaleEngine {
  static final String NAME = ResidentOptions.NAME;

  private final EngineSettings settings;
  private final ResidentOptions options;
  private final ResidentProgram program;
  private final Runnable release;
  private final AtomicBoolean closed = new AtomicBoolean();

  /**
   * @param release called once on close: closes the program, or lets go of a shared one
   */
  ResidentEngine(
      EngineSettings settings, ResidentOptions options, ResidentProgram program, Runnable release) {
    this.settings = settings;
    this.options = options;
    this.program = program;
    this.release = release;
  }

  /** Counts this engine's protocol messages, restarts and loads in the worker's metrics. */
  void bindMetrics(WorkerMetrics metrics, String workerId) {
    program.bind(
        new ResidentProgram.Telemetry() {
          @Override
          public void message(String direction, String type) {
            metrics.residentMessages.labelValues(metrics.pool, workerId, direction, type).inc();
          }

          @Override
          public void restart(String reason) {
            metrics.residentRestarts.labelValues(metrics.pool, workerId, reason).inc();
          }

          @Override
          public void loaded(double seconds) {
            metrics.residentLoadSeconds.labelValues(metrics.pool, workerId).observe(seconds);
          }
        },
        workerId);
  }

  ResidentProgram program() {
    return program;
  }

  @Override
  public EngineDescription describe() {
    ResidentProgram.ReadyInfo r = program.readyInfo();
    return new EngineDescription(
        NAME,
        r != null && r.emulated(),
        "external:" + options.programName(),
        settings.device(),
        r != null ? r.model() : options.modelId(),
        r != null ? r.weights() : options.weightsId());
  }

  @Override
  public EngineStatus status() {
    return program.status();
  }

  @Override
  public int defaultSteps() {
    ResidentProgram.ReadyInfo r = program.readyInfo();
    return r != null && r.defaultSteps() > 0 ? r.defaultSteps() : options.defaultSteps();
  }

  /** The configured {@code weights-bytes}, else what the program reported when ready. */
  long weightsBytes() {
    if (options.weightsBytes() > 0) {
      return options.weightsBytes();
    }
    ResidentProgram.ReadyInfo r = program.readyInfo();
    return r == null ? 0 : r.memoryBytes();
  }

  @Override
  public long estimateDeviceBytes(BaseVideoJob job, boolean offloadWeights) {
    return MemoryPlan.baseBytes(job, weightsBytes(), offloadWeights);
  }

  /** The model plus the upscaled frames in float32 RGB and their uint8 copy. */
  @Override
  public long estimateDeviceBytes(UpscaleJob job, boolean offloadWeights) {
    return weightsBytes()
        + (long) job.targetWidth() * job.targetHeight() * 3 * 5 * job.baseFrames().count();
  }

  @Override
  public BaseVideoResult generate(BaseVideoJob job, EngineContext context)
      throws EngineException, InterruptedException {
    Path dir = context.workDir();
    Path video = dir.resolve("output.mp4");
    Path latents = latentsWanted(context) ? dir.resolve("latents.safetensors") : null;
    int steps = job.stepsOr(defaultSteps());
    Outcome o =
        program.run(
            job.taskId(), ResidentProtocol.baseTask(job, steps, dir, video, latents), context);
    Message m = accepted(o, job.taskId());
    Path file = resultFile(m, "video", dir, true);
    Latents lat = null;
    Path latFile = resultFile(m, "latents", dir, false);
    if (latFile != null) {
      try {
        lat = LatentsFile.read(Files.readAllBytes(latFile));
      } catch (IOException e) {
        throw EngineException.engineError(
            "cannot read the latents "
                + options.programName()
                + " wrote at "
                + latFile
                + ": "
                + e.getMessage()
                + "; write an F32 tensor named 'latents' in safetensors format",
            e);
      }
    }
    return BaseVideoResult.ofFile(file, lat, facts(m));
  }

  @Override
  public UpscaleResult upscale(UpscaleJob job, EngineContext context)
      throws EngineException, InterruptedException {
    Path dir = context.workDir();
    Path input = dir.resolve(UpscaleStage.BASE_PREVIEW_FILE);
    Path inputLatents = null;
    try {
      if (!Files.isRegularFile(input)) {
        // Not run by UpscaleStage (which fetched the base preview there): write the frames.
        input = dir.resolve("base-input.mp4");
        VideoCodec.encodeMp4(
            job.baseFrames(),
            job.fps(),
            job.baseFrames().width(),
            job.baseFrames().height(),
            input,
            VideoCodec.Encoder.AUTO);
      }
      if (job.baseLatents() != null) {
        inputLatents = dir.resolve("base-latents.safetensors");
        try (OutputStream os = Files.newOutputStream(inputLatents)) {
          LatentsFile.write(job.baseLatents(), os);
        }
      }
    } catch (IOException e) {
      throw EngineException.engineError(
          "cannot write the upscale input for the program: " + e.getMessage(), e);
    }
    Path out = dir.resolve("upscaled.mp4");
    Outcome o =
        program.run(
            job.taskId(),
            ResidentProtocol.upscaleTask(job, dir, input, inputLatents, out),
            context);
    Message m = accepted(o, job.taskId());
    Path file = resultFile(m, "video", dir, true);
    VideoCodec.Decoded d;
    try {
      d = VideoCodec.decodeToFile(file, dir.resolve("upscaled.rgb"));
    } catch (IOException e) {
      throw EngineException.engineError(
          "cannot decode the video " + options.programName() + " wrote: " + e.getMessage(), e);
    }
    return new UpscaleResult(d.frames(), facts(m));
  }

  /** Latents only when an upscale stage follows (the task does not publish the final video). */
  private static boolean latentsWanted(EngineContext context) {
    return !(context instanceof TaskRun run) || !run.task.getPublishFinal();
  }

  private Map<String, String> facts(Message m) {
    Map<String, String> facts = new LinkedHashMap<>();
    ResidentProgram.ReadyInfo r = program.readyInfo();
    if (r != null) {
      facts.putAll(r.facts());
    }
    facts.putAll(m.strings("facts"));
    facts.put("program", options.programName());
    return facts;
  }

  /** The result message, or the failure the outcome stands for. */
  private Message accepted(Outcome o, String taskId) throws EngineException {
    String name = options.programName();
    return switch (o.kind()) {
      case RESULT -> o.message();
      case ERROR -> {
        Message m = o.message();
        ErrorCode code = ResidentProtocol.code(m.text("code"));
        boolean retryable =
            code != ErrorCode.BAD_PARAMETERS
                && m.flag("retryable", ResidentProtocol.retryableByDefault(code));
        throw new EngineException(
            code, name + " (" + m.text("code") + "): " + m.text("message"), retryable, null);
      }
      case CANCELLED ->
          throw EngineException.engineError(
              name
                  + " reported task "
                  + taskId
                  + " cancelled although the worker did not cancel it",
              null);
      case CRASHED ->
          throw EngineException.engineError(
              "the resident program "
                  + name
                  + " died while running task "
                  + taskId
                  + " ("
                  + o.detail()
                  + "); it is started again and the task may be retried",
              null);
      case KILLED ->
          throw EngineException.engineError(
              "the resident program "
                  + name
                  + " was "
                  + o.detail()
                  + " while running task "
                  + taskId,
              null);
    };
  }

  /**
   * A file the result names: absolute or relative to the task directory, inside it (the runtime
   * deletes the directory after the task), and present.
   */
  private Path resultFile(Message m, String field, Path dir, boolean required)
      throws EngineException {
    String value = m.text(field);
    if (value == null || value.isBlank()) {
      if (required) {
        throw EngineException.engineError(
            options.programName() + "'s result for " + m.id() + " names no " + field, null);
      }
      return null;
    }
    Path p = Path.of(value);
    p = (p.isAbsolute() ? p : dir.resolve(p)).normalize();
    if (!p.startsWith(dir.toAbsolutePath().normalize()) && !p.startsWith(dir.normalize())) {
      throw EngineException.engineError(
          options.programName()
              + "'s result "
              + field
              + " "
              + p
              + " is outside the task directory "
              + dir
              + "; write it under the task's workdir",
          null);
    }
    if (!Files.isRegularFile(p)) {
      throw EngineException.engineError(
          options.programName()
              + "'s result names "
              + field
              + " "
              + p
              + " but there is no such file",
          null);
    }
    return p;
  }

  @Override
  public void close() {
    if (closed.compareAndSet(false, true)) {
      release.run();
    }
  }
}
