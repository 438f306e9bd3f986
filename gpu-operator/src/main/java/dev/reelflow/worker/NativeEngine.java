package dev.reelflow.worker;

import dev.reelflow.engine.GenerationCancelledException;
import dev.reelflow.engine.GenerationResult;
import dev.reelflow.engine.GenerationSpec;
import dev.reelflow.engine.NativeVideoEngine;
import dev.reelflow.engine.attention.AttentionConfig;
import dev.reelflow.engine.backend.Backend;
import dev.reelflow.engine.backend.Backends;
import dev.reelflow.engine.backend.DeviceOutOfMemoryException;
import dev.reelflow.worker.spi.BaseVideoEngine;
import dev.reelflow.worker.spi.BaseVideoJob;
import dev.reelflow.worker.spi.BaseVideoResult;
import dev.reelflow.worker.spi.EngineContext;
import dev.reelflow.worker.spi.EngineDescription;
import dev.reelflow.worker.spi.EngineException;
import dev.reelflow.worker.spi.EngineSettings;
import dev.reelflow.worker.spi.Latents;
import dev.reelflow.worker.spi.VideoFrames;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The {@code native} engine: an adapter over the Java engine ({@link NativeVideoEngine}) in {@code
 * dev.reelflow.engine}. Its step listener reports every denoising step and stops the sampler when
 * the runtime cancels.
 *
 * <p>The tensor backend is the worker slot's ({@code backend}: cpu, torch, cuda[:N]). Options
 * ({@code engine.native.*}): {@code model} (tiny | 480p | 720p, default tiny), {@code attention}
 * (dense | ssta, default dense), {@code threads} (default all processors), {@code dit-checkpoint}
 * and {@code vae-checkpoint} (comma-separated safetensors files; default none = seeded random
 * weights, which manifests say), {@code weight-seed} (default 0), {@code default-steps} (default 8
 * for tiny, 50 otherwise), {@code guidance} (default 6), {@code shift} (default 5, 7 for 720p),
 * {@code weights-bytes} for memory planning (default: 8.3B bf16 for the real configs, 64 MiB for
 * tiny).
 */
final class NativeEngine implements BaseVideoEngine {
  static final String NAME = "native";

  private final EngineSettings settings;
  private final Backend backend;
  private final NativeVideoEngine engine;
  private final String model;
  private final int defaultSteps;
  private final double guidance;
  private final double shift;
  private final long weightsBytes;

  NativeEngine(EngineSettings settings) throws EngineException {
    this.settings = settings;
    this.model = settings.option("model").orElse("tiny");
    String attention = settings.option("attention").orElse("dense");
    int threads = (int) settings.longOption("threads", Runtime.getRuntime().availableProcessors());
    NativeVideoEngine.Builder b =
        NativeVideoEngine.builder().model(model).weightSeed(settings.longOption("weight-seed", 0));
    switch (attention) {
      case "dense" -> b.attention(AttentionConfig.dense());
      case "ssta" -> b.attention(AttentionConfig.ssta());
      default ->
          throw new IllegalArgumentException(
              "engine.native.attention must be dense or ssta, got '" + attention + "'");
    }
    settings.option("dit-checkpoint").ifPresent(v -> b.ditCheckpoint(paths(v)));
    settings.option("vae-checkpoint").ifPresent(v -> b.vaeCheckpoint(paths(v)));
    try {
      this.backend = Backends.open(settings.backend(), threads);
    } catch (RuntimeException e) {
      throw EngineException.engineError(
          "cannot open backend " + settings.backend() + ": " + e.getMessage(), e);
    }
    try {
      this.engine = b.backend(backend).build();
    } catch (RuntimeException e) {
      backend.close();
      throw EngineException.engineError(
          "cannot load the native engine (model " + model + "): " + e.getMessage(), e);
    }
    boolean tiny = model.equals("tiny");
    this.defaultSteps = (int) settings.longOption("default-steps", tiny ? 8 : 50);
    this.guidance = settings.doubleOption("guidance", 6.0);
    this.shift = settings.doubleOption("shift", model.equals("720p") ? 7.0 : 5.0);
    this.weightsBytes = settings.longOption("weights-bytes", tiny ? 64L << 20 : 16_600_000_000L);
  }

  private static List<Path> paths(String csv) {
    List<Path> out = new ArrayList<>();
    for (String p : csv.split(",")) {
      if (!p.isBlank()) {
        out.add(Path.of(p.trim()));
      }
    }
    return out;
  }

  @Override
  public EngineDescription describe() {
    return new EngineDescription(
        NAME,
        false,
        engine.backend().name(),
        settings.device(),
        engine.modelId(),
        engine.weightsId());
  }

  @Override
  public int defaultSteps() {
    return defaultSteps;
  }

  @Override
  public long estimateDeviceBytes(BaseVideoJob job, boolean offloadWeights) {
    return MemoryPlan.baseBytes(job, weightsBytes, offloadWeights);
  }

  @Override
  public BaseVideoResult generate(BaseVideoJob job, EngineContext context)
      throws EngineException, InterruptedException {
    if (job.imageUrl() != null && !job.imageUrl().isBlank()) {
      throw EngineException.badParameters(
          "image-to-video is not wired into the worker yet (the first frame would be fetched from"
              + " imageUrl); render t2v or use engine=command");
    }
    GenerationSpec spec;
    try {
      spec =
          GenerationSpec.builder()
              .prompt(job.prompt())
              .negativePrompt(job.negativePrompt())
              .seed(job.seed())
              .size(job.width(), job.height())
              .frames(job.frames())
              .steps(job.stepsOr(defaultSteps))
              .guidance(job.guidanceScale() != null ? job.guidanceScale() : guidance)
              .shift(shift)
              .build();
    } catch (IllegalArgumentException e) {
      throw EngineException.badParameters("the native engine refuses the job: " + e.getMessage());
    }
    GenerationResult r;
    try {
      r =
          engine.generate(
              spec,
              (step, total, sigma) -> {
                context.listener().onStep("denoise", step, total);
                return !context.cancelRequested();
              });
    } catch (GenerationCancelledException e) {
      context.checkCancelled();
      throw EngineException.engineError("the native engine stopped: " + e.getMessage(), e);
    } catch (DeviceOutOfMemoryException e) {
      throw EngineException.deviceOutOfMemory(e.getMessage(), e);
    } catch (OutOfMemoryError e) {
      throw EngineException.outOfMemory(
          "out of memory in the native engine: " + e.getMessage(), null);
    } catch (RuntimeException e) {
      throw EngineException.engineError("native engine failed: " + e, e);
    }
    context.checkCancelled();
    int[] shape = new int[r.latentShape().length];
    for (int i = 0; i < shape.length; i++) {
      shape[i] = Math.toIntExact(r.latentShape()[i]);
    }
    Map<String, String> meta = new LinkedHashMap<>();
    meta.put("model", r.modelId());
    meta.put("weights", r.weightsId());
    meta.put("backend", r.backend());
    Map<String, String> facts = new LinkedHashMap<>();
    facts.put("attention", r.attention());
    facts.put("textEncoder", r.textEncoder());
    facts.put("denoiseSeconds", String.format("%.3f", r.stepSeconds()));
    facts.put("decodeSeconds", String.format("%.3f", r.decodeSeconds()));
    facts.put("guidance", Double.toString(spec.guidance()));
    facts.put("shift", Double.toString(spec.shift()));
    return BaseVideoResult.ofFrames(
        new ArgbFrames(r.width(), r.height(), r.frames()),
        new Latents(shape, r.latents(), meta),
        facts);
  }

  @Override
  public void close() {
    engine.close();
    backend.close();
  }

  /** The engine's packed ARGB frames as RGB24, converted per frame on demand. */
  private record ArgbFrames(int width, int height, List<int[]> argb) implements VideoFrames {
    @Override
    public int count() {
      return argb.size();
    }

    @Override
    public byte[] rgb(int index) {
      int[] px = argb.get(index);
      byte[] out = new byte[px.length * 3];
      for (int i = 0; i < px.length; i++) {
        int p = px[i];
        out[3 * i] = (byte) (p >> 16);
        out[3 * i + 1] = (byte) (p >> 8);
        out[3 * i + 2] = (byte) p;
      }
      return out;
    }
  }
}
