package dev.reelflow.worker;

import dev.reelflow.config.ConfigSpec;
import dev.reelflow.config.ConfigValues;
import dev.reelflow.config.Setting;
import dev.reelflow.engine.GenerationCancelledException;
import dev.reelflow.engine.GenerationResult;
import dev.reelflow.engine.GenerationSpec;
import dev.reelflow.engine.NativeVideoEngine;
import dev.reelflow.engine.attention.AttentionConfig;
import dev.reelflow.engine.backend.Backend;
import dev.reelflow.engine.backend.Backends;
import dev.reelflow.engine.backend.DeviceOutOfMemoryException;
import dev.reelflow.engine.backend.TorchBackend;
import dev.reelflow.engine.checkpoint.ModelFolder;
import dev.reelflow.engine.checkpoint.ModelFolderException;
import dev.reelflow.engine.checkpoint.TransformerVariant;
import dev.reelflow.engine.checkpoint.VariantName;
import dev.reelflow.engine.checkpoint.WeightFiles;
import dev.reelflow.engine.sampler.SamplerDefaults;
import dev.reelflow.engine.text.HunyuanTextEncoder;
import dev.reelflow.engine.text.PromptTooLongException;
import dev.reelflow.engine.vae.VaeTiling;
import dev.reelflow.engine.vision.SiglipVisionEncoder;
import dev.reelflow.worker.spi.BaseVideoEngine;
import dev.reelflow.worker.spi.BaseVideoJob;
import dev.reelflow.worker.spi.BaseVideoResult;
import dev.reelflow.worker.spi.EngineContext;
import dev.reelflow.worker.spi.EngineDescription;
import dev.reelflow.worker.spi.EngineException;
import dev.reelflow.worker.spi.EngineSettings;
import dev.reelflow.worker.spi.Latents;
import dev.reelflow.worker.spi.ReferenceImage;
import dev.reelflow.worker.spi.VideoFrames;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CancellationException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The {@code native} engine: an adapter over the Java engine ({@link NativeVideoEngine}) in {@code
 * dev.reelflow.engine}. Its step listener reports every denoising step and stops the sampler when
 * the runtime cancels.
 *
 * <p>The tensor backend is the worker slot's ({@code backend}: cpu, torch, cuda[:N]), opened once
 * and kept across variant swaps. With {@code model-dir} (a HunyuanVideo-1.5 checkpoint folder in
 * the released layout) each render's resolution (preview renders with the 480p variant) and task
 * pick the transformer variant in the order of {@code variant-preference}, one variant resident at
 * a time; steps, guidance and shift default to that variant's official settings, and the manifest
 * names the variant and its fingerprint. Image-to-video: the runtime fetches the reference image
 * ({@link ReferenceImage}); with a folder the i2v variant of the resolution renders it, its SigLIP
 * states from the folder's {@code vision_encoder/siglip} (loaded on the first i2v variant, kept
 * across swaps) and its first-frame latents from the VAE; without a folder the preset renders with
 * the first-frame latents only (the tiny preset has no vision projection). Options: {@link
 * #OPTIONS}.
 */
final class NativeEngine implements BaseVideoEngine {
  static final String NAME = "native";
  private static final Logger LOG = LoggerFactory.getLogger(NativeEngine.class);

  static final Setting<String> MODEL_DIR =
      Setting.string("model-dir")
          .doc(
              "HunyuanVideo-1.5 checkpoint folder (released layout); default the worker's"
                  + " model-dir, else none: a preset (model) with seeded random-init weights.")
          .build();
  static final Setting<String> VARIANT_PREFERENCE =
      Setting.string("variant-preference")
          .defaultValue("base")
          .check(
              NativeEngine::isPreference, "comma-separated base, distilled, sparse, step-distilled")
          .doc(
              "With model-dir: the transformer variant kinds to try, in order (base, distilled,"
                  + " sparse, step-distilled; base as the official generate.py).")
          .build();
  static final Setting<String> MODEL =
      Setting.choice("model", "tiny", "480p", "720p")
          .defaultValue("tiny")
          .doc("Without model-dir: the transformer preset, with seeded random-init weights.")
          .build();
  static final Setting<List<String>> DIT_CHECKPOINT =
      Setting.list("dit-checkpoint")
          .doc("Without model-dir: transformer weights (comma-separated safetensors files).")
          .build();
  static final Setting<List<String>> VAE_CHECKPOINT =
      Setting.list("vae-checkpoint")
          .doc("Without model-dir: VAE weights (comma-separated safetensors files).")
          .build();
  static final Setting<Long> WEIGHT_SEED =
      Setting.longInteger("weight-seed")
          .defaultValue("0")
          .doc("Seed of the random-init weights.")
          .build();
  static final Setting<String> ATTENTION =
      Setting.choice("attention", "dense", "ssta")
          .doc("Attention: dense or ssta; default the variant config's, dense for the presets.")
          .build();
  static final Setting<Integer> DEFAULT_STEPS =
      Setting.integer("default-steps")
          .check(n -> n >= 1, ">= 1")
          .doc("Steps of a task that names none; default the variant's, 8 for tiny, else 50.")
          .build();
  static final Setting<Double> GUIDANCE =
      Setting.decimal("guidance")
          .doc("Guidance scale of a task that names none; default the variant's, else 6.")
          .build();
  static final Setting<Double> SHIFT =
      Setting.decimal("shift")
          .doc("Sampler shift; default the variant's, else 5 (7 for the 720p preset).")
          .build();
  static final Setting<Long> WEIGHTS_BYTES =
      Setting.longInteger("weights-bytes")
          .check(n -> n >= 0, ">= 0")
          .doc(
              "Device memory of the weights, for the memory plan; default the variant's files,"
                  + " 8.3B bf16 for the real presets, 64 MiB for tiny.")
          .build();

  /** The options, {@code engine.native.*}. */
  static final ConfigSpec OPTIONS =
      ConfigSpec.builder("engine " + NAME)
          .add(
              MODEL_DIR,
              VARIANT_PREFERENCE,
              MODEL,
              DIT_CHECKPOINT,
              VAE_CHECKPOINT,
              WEIGHT_SEED,
              ATTENTION,
              EngineSettings.THREADS,
              DEFAULT_STEPS,
              GUIDANCE,
              SHIFT,
              WEIGHTS_BYTES)
          .build();

  private final EngineSettings settings;
  private final ConfigValues options;
  private final String model;
  private final ModelFolder folder;
  private final List<VariantName.Kind> preference;
  private NativeVideoEngine engine;
  private TransformerVariant variant;
  private final Backend backend;
  // the folder's real text encoders, loaded once and kept across variant swaps (null: stand-in)
  private HunyuanTextEncoder text;
  private SiglipVisionEncoder siglip;

  NativeEngine(EngineSettings settings) throws EngineException {
    this.settings = settings;
    this.options = settings.options(OPTIONS);
    this.model = options.get(MODEL);
    try {
      this.backend = Backends.open(settings.backend(), EngineSettings.threads(options));
    } catch (RuntimeException e) {
      throw EngineException.engineError(
          "cannot open backend " + settings.backend() + ": " + e.getMessage(), e);
    }
    try {
      Optional<String> dir = Optional.ofNullable(options.get(MODEL_DIR)).filter(v -> !v.isBlank());
      this.preference = preference(options.get(VARIANT_PREFERENCE));
      if (dir.isPresent()) {
        try {
          this.folder = ModelFolder.open(Path.of(dir.get()));
        } catch (ModelFolderException e) {
          throw EngineException.engineError("engine.native.model-dir: " + e.getMessage(), e);
        }
        if (HunyuanTextEncoder.present(folder)) {
          try {
            this.text = HunyuanTextEncoder.open(folder, backend, true);
          } catch (RuntimeException e) {
            throw EngineException.engineError(
                "engine.native.model-dir: cannot load the text encoders: " + e.getMessage(), e);
          }
        }
        // resident at start: the first base variant the folder has for the preference
        TransformerVariant first = null;
        List<String> errors = new ArrayList<>();
        for (String res : List.of("480p", "720p")) {
          for (boolean i2v : new boolean[] {false, true}) {
            if (first == null) {
              try {
                first = folder.select(res, i2v, preference);
              } catch (ModelFolderException e) {
                errors.add(e.getMessage());
              }
            }
          }
        }
        if (first == null) {
          throw EngineException.engineError(
              "engine.native.model-dir: no base variant for the preference "
                  + preference
                  + ": "
                  + errors.get(0),
              null);
        }
        load(first);
      } else {
        this.folder = null;
        this.engine = build(builder().model(model));
      }
    } catch (EngineException | RuntimeException e) {
      if (text != null) {
        text.close();
      }
      if (siglip != null) {
        siglip.close();
      }
      backend.close();
      throw e;
    }
  }

  /** The slot's memory budget for the official VAE tiling choice (unknown: the large tiles). */
  private static long budget(EngineSettings s) {
    return s.deviceMemoryBytes() > 0 ? s.deviceMemoryBytes() : Long.MAX_VALUE;
  }

  private static boolean isPreference(String csv) {
    try {
      preference(csv);
      return true;
    } catch (IllegalArgumentException e) {
      return false;
    }
  }

  private static List<VariantName.Kind> preference(String csv) {
    List<VariantName.Kind> out = new ArrayList<>();
    for (String k : csv.split(",")) {
      String n = k.trim().toUpperCase().replace('-', '_');
      if (n.isEmpty()) {
        continue;
      }
      try {
        out.add(VariantName.Kind.valueOf(n));
      } catch (IllegalArgumentException e) {
        throw new IllegalArgumentException(
            "engine.native.variant-preference: '"
                + k.trim()
                + "' is not base, distilled, sparse or step-distilled");
      }
    }
    if (out.isEmpty()) {
      throw new IllegalArgumentException("engine.native.variant-preference is empty");
    }
    return out;
  }

  private NativeVideoEngine.Builder builder() {
    NativeVideoEngine.Builder b =
        NativeVideoEngine.builder()
            .backend(backend)
            // device.offload-weights: only libtorch can stream blocks; the CPU backend keeps all
            .offloadBlocks(settings.offloadWeights() && backend instanceof TorchBackend)
            .weightSeed(options.get(WEIGHT_SEED));
    if (text != null) {
      b.textEncoder(text);
    }
    if (settings.backend().isCuda()) {
      // the official rule: 256 px VAE tiles above 21 GiB of GPU memory, else 128 px
      b.vaeTiling(VaeTiling.forDeviceMemory(budget(settings)));
    }
    String attention = options.get(ATTENTION);
    if (attention != null) {
      b.attention(attention.equals("ssta") ? AttentionConfig.ssta() : AttentionConfig.dense());
    }
    return b;
  }

  private NativeVideoEngine build(NativeVideoEngine.Builder b) throws EngineException {
    if (folder == null) {
      if (options.get(DIT_CHECKPOINT) != null) {
        b.ditCheckpoint(paths(options.get(DIT_CHECKPOINT)));
      }
      if (options.get(VAE_CHECKPOINT) != null) {
        b.vaeCheckpoint(paths(options.get(VAE_CHECKPOINT)));
      }
    }
    try {
      return b.build();
    } catch (RuntimeException e) {
      throw EngineException.engineError(
          "cannot load the native engine ("
              + (variant != null ? "variant " + variant.name() : "model " + model)
              + "): "
              + e.getMessage(),
          e);
    }
  }

  /** Makes {@code v} the resident variant (closing the previous one first, to free its memory). */
  private void load(TransformerVariant v) throws EngineException {
    if (engine != null) {
      LOG.info("native engine: swapping {} for {}", variant.name(), v.name());
      engine.close();
      engine = null;
    }
    variant = v;
    NativeVideoEngine.Builder b = builder().modelFolder(folder, v.name());
    boolean imageVariant =
        "i2v".equals(v.config().idealTask())
            || v.variantName().map(n -> n.task() == VariantName.Task.I2V).orElse(false);
    if (v.config().visionDim() > 0 && imageVariant) {
      b.visionEncoder(siglip());
    }
    engine = build(b);
  }

  /**
   * The folder's SigLIP tower, loaded on first use and kept across variant swaps (it is the same
   * for every image-to-video variant); null when the folder has no {@code vision_encoder/siglip}.
   */
  private SiglipVisionEncoder siglip() throws EngineException {
    if (siglip == null
        && folder.has("vision_encoder/siglip/" + SiglipVisionEncoder.IMAGE_ENCODER)) {
      try {
        siglip = SiglipVisionEncoder.open(folder, backend, true);
      } catch (RuntimeException e) {
        throw EngineException.engineError(
            "engine.native.model-dir: cannot load vision_encoder/siglip: " + e.getMessage(), e);
      }
    }
    if (siglip == null) {
      LOG.warn(
          "{} has no vision_encoder/siglip/{}: image-to-video renders will fail until it is"
              + " downloaded",
          folder.dir(),
          SiglipVisionEncoder.IMAGE_ENCODER);
    }
    return siglip;
  }

  private static List<Path> paths(List<String> files) {
    return files.stream().map(Path::of).toList();
  }

  private static double or(Double value, double dflt) {
    return value != null ? value : dflt;
  }

  @Override
  public synchronized EngineDescription describe() {
    // an image-to-video variant's renders also depend on the SigLIP weights: name them too
    String weights =
        engine.weightsId() + engine.visionEncoderId().map(v -> ";vision=" + v).orElse("");
    return new EngineDescription(
        NAME, false, engine.backend().name(), settings.device(), engine.modelId(), weights);
  }

  private Optional<SamplerDefaults> defaults() {
    return variant == null ? Optional.empty() : Optional.of(variant.samplerDefaults());
  }

  @Override
  public synchronized int defaultSteps() {
    Integer steps = options.get(DEFAULT_STEPS);
    return steps != null
        ? steps
        : defaults().map(SamplerDefaults::steps).orElse(model.equals("tiny") ? 8 : 50);
  }

  @Override
  public synchronized long estimateDeviceBytes(BaseVideoJob job, boolean offloadWeights) {
    long dflt =
        variant != null
            ? variant.files().bytes()
            : (model.equals("tiny") ? 64L << 20 : 16_600_000_000L);
    Long weights = options.get(WEIGHTS_BYTES);
    return MemoryPlan.baseBytes(job, weights != null ? weights : dflt, offloadWeights)
        + encoderBytes(job.imageToVideo());
  }

  /**
   * The encoders' weights, resident beside the transformer and never offloaded: the text encoders
   * when the folder has them, the SigLIP tower for image-to-video (its files' size until it is
   * loaded on the first such render).
   */
  private long encoderBytes(boolean i2v) {
    long n = text == null ? 0 : text.weightBytes();
    if (i2v && siglip != null) {
      n += siglip.weightBytes();
    } else if (i2v
        && folder != null
        && folder.has("vision_encoder/siglip/" + SiglipVisionEncoder.IMAGE_ENCODER)) {
      n +=
          WeightFiles.in(
                  folder
                      .dir()
                      .resolve("vision_encoder/siglip/" + SiglipVisionEncoder.IMAGE_ENCODER))
              .bytes();
    }
    return n;
  }

  @Override
  public synchronized BaseVideoResult generate(BaseVideoJob job, EngineContext context)
      throws EngineException, InterruptedException {
    boolean i2v = job.imageToVideo();
    ReferenceImage ref = job.referenceImage();
    if (i2v && ref == null) {
      throw EngineException.engineError(
          "image-to-video job without its reference image (the runtime fetches imageUrl)", null);
    }
    if (folder != null) {
      // preview renders use the 480p variant: it is the smaller model, run at the preview size
      String res = job.resolution().equals("720p") ? "720p" : "480p";
      TransformerVariant wanted;
      try {
        wanted = folder.select(res, i2v, preference);
      } catch (ModelFolderException e) {
        throw EngineException.engineError(e.getMessage(), e);
      }
      if (!wanted.name().equals(variant.name())) {
        load(wanted);
      }
      if (i2v && wanted.config().visionDim() > 0 && engine.visionEncoderId().isEmpty()) {
        throw EngineException.engineError(
            wanted.name()
                + " conditions on the reference image through SigLIP, but "
                + folder.dir()
                + " has no vision_encoder/siglip/"
                + SiglipVisionEncoder.IMAGE_ENCODER
                + ": download FLUX.1-Redux-dev into vision_encoder/siglip",
            null);
      }
    }
    SamplerDefaults d = defaults().orElse(null);
    double guidance =
        job.guidanceScale() != null
            ? job.guidanceScale()
            : or(options.get(GUIDANCE), d != null ? d.guidance() : 6.0);
    double shift =
        or(options.get(SHIFT), d != null ? d.shift() : (model.equals("720p") ? 7.0 : 5.0));
    GenerationSpec spec;
    try {
      spec =
          GenerationSpec.builder()
              .prompt(job.prompt())
              .negativePrompt(job.negativePrompt())
              .seed(job.seed())
              .size(job.width(), job.height())
              .frames(job.frames())
              .steps(job.stepsOr(defaultSteps()))
              .guidance(guidance)
              .shift(shift)
              .firstFrame(
                  ref == null
                      ? null
                      : new GenerationSpec.Image(ref.width(), ref.height(), ref.argb()))
              .build();
    } catch (IllegalArgumentException e) {
      throw EngineException.badParameters("the native engine refuses the job: " + e.getMessage());
    }
    GenerationResult r;
    try {
      r =
          engine.generate(
              spec,
              (phase, step, total) -> {
                context.listener().onStep(phase, step, total);
                if (context.cancelRequested()) {
                  throw new CancellationException("the runtime asked the task to stop");
                }
              });
    } catch (PromptTooLongException e) {
      // permanent: the same prompt never fits (the official pipeline would truncate it silently)
      throw EngineException.badParameters(
          e.field() + ": " + e.getMessage() + " (limit " + e.limit() + " tokens)");
    } catch (GenerationCancelledException e) {
      context.checkCancelled();
      throw EngineException.engineError("the native engine stopped: " + e.getMessage(), e);
    } catch (DeviceOutOfMemoryException e) {
      if (backend instanceof TorchBackend t) {
        t.releaseCachedMemory(); // the next task starts from an empty caching allocator
      }
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
    facts.put("mode", i2v ? "i2v" : "t2v");
    engine.visionEncoderId().filter(v -> i2v).ifPresent(v -> facts.put("visionEncoder", v));
    engine
        .checkpoint()
        .ifPresent(
            c -> {
              facts.put("checkpointVariant", c.variant());
              facts.put("checkpointFingerprint", c.fingerprint());
              facts.put("vaeFingerprint", c.vaeFingerprint());
            });
    return BaseVideoResult.ofFrames(
        new ArgbFrames(r.width(), r.height(), r.frames()),
        new Latents(shape, r.latents(), meta),
        facts);
  }

  @Override
  public synchronized void close() {
    engine.close();
    if (text != null) {
      text.close();
    }
    if (siglip != null) {
      siglip.close();
    }
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
