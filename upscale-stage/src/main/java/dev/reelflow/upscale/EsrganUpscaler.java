package dev.reelflow.upscale;

import dev.reelflow.engine.backend.Backend;
import dev.reelflow.engine.backend.CpuBackend;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.BooleanSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The {@code esrgan} engine: a pretrained UpscalerJS ESRGAN network (TF.js layers weights) run on
 * an engine {@link Backend} in overlapping tiles, then resized to the exact target with {@link
 * Resampler}.
 *
 * <p>Tiles overlap by the network's receptive-field radius (capped by {@code maxMargin}); each
 * tile's margin is cropped, so with the full radius the tiled result equals the whole-frame result
 * and there are no seams. Frames of one call are batched: tile k of every frame goes through the
 * network as one [N, 3, h, w] batch, so a GPU backend sees N times the work per launch. Parallelism
 * is the backend's own (the CPU backend's thread pool, or the device); cancellation is polled
 * before every tile batch.
 */
public final class EsrganUpscaler implements FrameUpscaler {
  private static final Logger LOG = LoggerFactory.getLogger(EsrganUpscaler.class);
  private static final int[] SCALES = {2, 3, 4, 8};

  private final EsrganWeights weights;
  private final Path modelsDir;
  private final int fixedScale;
  private final int tileSize;
  private final int maxMargin;
  private final Backend backend;
  private final boolean ownsBackend;
  private final Map<Integer, DeviceSrNetwork> networks = new ConcurrentHashMap<>();

  private EsrganUpscaler(Builder b) {
    this.weights = b.weights;
    this.modelsDir = b.modelsDir;
    this.fixedScale = b.scale;
    this.tileSize = b.tileSize;
    this.maxMargin = b.maxMargin;
    this.ownsBackend = b.backend == null || b.ownsBackend;
    this.backend = b.backend != null ? b.backend : new CpuBackend(b.threads);
    LOG.info(
        "esrgan engine: weights={} ({}), scale={}, tile={}, maxMargin={}, backend={}",
        weights.id(),
        modelsDir == null ? "bundled" : modelsDir,
        fixedScale == 0 ? "auto" : "x" + fixedScale,
        tileSize,
        maxMargin,
        backend.device());
  }

  public static Builder builder() {
    return new Builder();
  }

  @Override
  public String id() {
    return weights.id();
  }

  @Override
  public String weightsId() {
    return weights.npmPackage() + (fixedScale == 0 ? "" : " x" + fixedScale);
  }

  /** The backend the network runs on. */
  Backend backend() {
    return backend;
  }

  /** The scale used to reach at least the target size (or the fixed scale). */
  int scaleFor(int width, int height, int targetWidth, int targetHeight) {
    if (fixedScale != 0) {
      return fixedScale;
    }
    for (int s : SCALES) {
      if (width * s >= targetWidth && height * s >= targetHeight) {
        return s;
      }
    }
    return SCALES[SCALES.length - 1];
  }

  /** The x{@code scale} network, loaded and placed on the backend on first use. */
  SrNetwork network(int scale) {
    return device(scale).graph;
  }

  private DeviceSrNetwork device(int scale) {
    return networks.computeIfAbsent(
        scale,
        s -> {
          SrNetwork net =
              SrNetwork.compile(
                  TfjsModelLoader.load(weights.source(s, modelsDir)), weights.inputRange());
          if (net.scale != s) {
            throw new ModelFormatException(
                net.name + ": the network upscales by " + net.scale + ", the folder says x" + s);
          }
          LOG.info(
              "loaded {} x{}: {} parameters, receptive radius {} px, {} MFLOP per input pixel",
              weights.id(),
              s,
              net.parameters,
              net.receptiveRadius(),
              String.format("%.3f", net.flopsPerInputPixel / 1e6));
          return new DeviceSrNetwork(net, backend);
        });
  }

  @Override
  public RgbFrame upscale(
      RgbFrame frame, int targetWidth, int targetHeight, BooleanSupplier cancelled) {
    return upscale(List.of(frame), targetWidth, targetHeight, cancelled).get(0);
  }

  @Override
  public List<RgbFrame> upscale(
      List<RgbFrame> frames, int targetWidth, int targetHeight, BooleanSupplier cancelled) {
    RgbFrame first = frames.get(0);
    int s = scaleFor(first.width(), first.height(), targetWidth, targetHeight);
    List<RgbFrame> big = upscaleByModel(frames, s, cancelled);
    List<RgbFrame> out = new ArrayList<>(big.size());
    for (RgbFrame b : big) {
      out.add(
          b.width() == targetWidth && b.height() == targetHeight
              ? b
              : Resampler.resize(b, targetWidth, targetHeight));
    }
    return out;
  }

  /** Runs the x{@code scale} network over one frame in tiles; output is scale times larger. */
  RgbFrame upscaleByModel(RgbFrame frame, int scale, BooleanSupplier cancelled) {
    return upscaleByModel(List.of(frame), scale, cancelled).get(0);
  }

  /**
   * Runs the x{@code scale} network over equally sized frames, tile by tile, each tile position as
   * one batch of all frames.
   */
  synchronized List<RgbFrame> upscaleByModel(
      List<RgbFrame> frames, int scale, BooleanSupplier cancelled) {
    DeviceSrNetwork net = device(scale);
    int n = frames.size();
    int w = frames.get(0).width();
    int h = frames.get(0).height();
    for (RgbFrame f : frames) {
      if (f.width() != w || f.height() != h) {
        throw new IllegalArgumentException(
            "frames of one batch must have one size: "
                + w
                + "x"
                + h
                + " and "
                + f.width()
                + "x"
                + f.height());
      }
    }
    int margin = Math.min(net.graph.receptiveRadius(), maxMargin);
    int tilesX = (w + tileSize - 1) / tileSize;
    int tilesY = (h + tileSize - 1) / tileSize;
    float[][] out = new float[n][w * scale * h * scale * 3];
    try {
      for (int ty = 0; ty < tilesY; ty++) {
        for (int tx = 0; tx < tilesX; tx++) {
          if (cancelled.getAsBoolean()) {
            throw new UpscaleCancelledException("cancelled between tiles");
          }
          runTile(
              net,
              frames,
              out,
              w * tx / tilesX,
              w * (tx + 1) / tilesX,
              h * ty / tilesY,
              h * (ty + 1) / tilesY,
              margin);
        }
      }
    } finally {
      net.releasePool(); // the next call may bring another frame size; memory goes back now
    }
    List<RgbFrame> result = new ArrayList<>(n);
    for (float[] o : out) {
      result.add(new RgbFrame(w * scale, h * scale, o));
    }
    return result;
  }

  private void runTile(
      DeviceSrNetwork net,
      List<RgbFrame> frames,
      float[][] out,
      int x0,
      int x1,
      int y0,
      int y1,
      int margin) {
    int w = frames.get(0).width();
    int h = frames.get(0).height();
    // expanded region: the margin only where the tile borders another tile, so that the image
    // border sees the same zero padding as a whole-frame run
    int ex0 = Math.max(0, x0 - margin);
    int ex1 = Math.min(w, x1 + margin);
    int ey0 = Math.max(0, y0 - margin);
    int ey1 = Math.min(h, y1 + margin);
    int tw = ex1 - ex0;
    int th = ey1 - ey0;
    int n = frames.size();
    int plane = tw * th;
    float toModel = net.graph.inputRange / 255f;
    float[] tile = new float[n * 3 * plane];
    for (int f = 0; f < n; f++) {
      float[] src = frames.get(f).pixels();
      for (int y = 0; y < th; y++) {
        int row = ((ey0 + y) * w + ex0) * 3;
        for (int x = 0; x < tw; x++) {
          for (int c = 0; c < 3; c++) {
            tile[(f * 3 + c) * plane + y * tw + x] = src[row + x * 3 + c] * toModel;
          }
        }
      }
    }
    float[] res = net.run(tile, n, th, tw);
    int s = net.graph.scale;
    float toPixels = 255f / net.graph.inputRange;
    int outW = w * s;
    int resW = tw * s;
    int resPlane = plane * s * s;
    for (int f = 0; f < n; f++) {
      float[] dst = out[f];
      for (int y = (y0 - ey0) * s; y < (y1 - ey0) * s; y++) {
        int dstRow = (ey0 * s + y) * outW;
        for (int x = (x0 - ex0) * s; x < (x1 - ex0) * s; x++) {
          int d = (dstRow + ex0 * s + x) * 3;
          for (int c = 0; c < 3; c++) {
            float v = res[(f * 3 + c) * resPlane + y * resW + x] * toPixels;
            dst[d + c] = v < 0f ? 0f : (v > 255f ? 255f : v);
          }
        }
      }
    }
  }

  @Override
  public void close() {
    networks.values().forEach(DeviceSrNetwork::close);
    networks.clear();
    if (ownsBackend) {
      backend.close();
    }
  }

  /**
   * Validated options; defaults: bundled slim weights, auto scale, 256-px tiles, a 1-thread CPU
   * backend.
   */
  public static final class Builder {
    private EsrganWeights weights = EsrganWeights.SLIM;
    private Path modelsDir;
    private int scale;
    private int tileSize = 256;
    private int maxMargin = 24;
    private int threads = 1;
    private Backend backend;
    private boolean ownsBackend;

    /**
     * Which weight set (default {@link EsrganWeights#SLIM}, the small one; the engine's default is
     * chosen by {@link EsrganEngineFactory}).
     */
    public Builder weights(EsrganWeights weights) {
      this.weights = weights;
      return this;
    }

    /** Folder holding x2/x3/x4/x8 model folders (default: the copy in this build). */
    public Builder modelsDir(Path modelsDir) {
      this.modelsDir = modelsDir;
      return this;
    }

    /** Fixed network scale 2, 3, 4 or 8; 0 (default) picks the smallest that covers the target. */
    public Builder scale(int scale) {
      if (scale != 0 && scale != 2 && scale != 3 && scale != 4 && scale != 8) {
        throw new IllegalArgumentException("scale must be 0 (auto), 2, 3, 4 or 8: " + scale);
      }
      this.scale = scale;
      return this;
    }

    /** Interior tile side in input pixels (default 256, at least 16). */
    public Builder tileSize(int tileSize) {
      if (tileSize < 16) {
        throw new IllegalArgumentException("tileSize must be >= 16: " + tileSize);
      }
      this.tileSize = tileSize;
      return this;
    }

    /**
     * Upper bound of the tile overlap in input pixels (default 24). The overlap is the network's
     * receptive-field radius when that is smaller (esrgan-slim: 10, i.e. exact).
     */
    public Builder maxMargin(int maxMargin) {
      if (maxMargin < 0) {
        throw new IllegalArgumentException("maxMargin must be >= 0: " + maxMargin);
      }
      this.maxMargin = maxMargin;
      return this;
    }

    /**
     * Threads of the CPU backend the upscaler creates for itself (default 1); ignored when a
     * backend is given.
     */
    public Builder threads(int threads) {
      if (threads < 1 || threads > 256) {
        throw new IllegalArgumentException("threads must be in 1..256: " + threads);
      }
      this.threads = threads;
      return this;
    }

    /**
     * The backend to run on (default: a {@link CpuBackend} of {@link #threads} threads, owned and
     * closed by the upscaler). A given backend is shared: the upscaler never closes it.
     */
    public Builder backend(Backend backend) {
      this.backend = backend;
      this.ownsBackend = false;
      return this;
    }

    /** A backend that the upscaler closes with itself (the engine factory opens one per engine). */
    Builder ownBackend(Backend backend) {
      this.backend = backend;
      this.ownsBackend = true;
      return this;
    }

    /** Closes a backend handed to {@link #ownBackend} when {@link #build} failed. */
    void closeBackend() {
      if (ownsBackend && backend != null) {
        backend.close();
      }
    }

    public EsrganUpscaler build() {
      if (modelsDir == null && !weights.bundled()) {
        throw new IllegalArgumentException(
            weights.id()
                + " weights are not in this build: set modelsDir to the 'models' folder of "
                + weights.npmPackage());
      }
      return new EsrganUpscaler(this);
    }
  }
}
