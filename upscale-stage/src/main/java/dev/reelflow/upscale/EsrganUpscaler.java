package dev.reelflow.upscale;

import dev.reelflow.engine.backend.CpuBackend;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BooleanSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The {@code esrgan} engine: a pretrained UpscalerJS ESRGAN network (TF.js layers weights) run
 * frame by frame in overlapping tiles, then resized to the exact target with {@link Resampler}.
 *
 * <p>Tiles overlap by the network's receptive-field radius (capped by {@code maxMargin}); each
 * tile's margin is cropped, so with the full radius the tiled result equals the whole-frame result
 * and there are no seams. Tiles run on {@code threads} workers, each with its own native workspace
 * and a single-threaded GEMM; cancellation is polled before every tile.
 */
public final class EsrganUpscaler implements FrameUpscaler {
  private static final Logger LOG = LoggerFactory.getLogger(EsrganUpscaler.class);
  private static final int[] SCALES = {2, 3, 4, 8};

  private final EsrganWeights weights;
  private final Path modelsDir;
  private final int fixedScale;
  private final int tileSize;
  private final int maxMargin;
  private final int threads;
  private final Gemm gemm;
  private final Gemm wideGemm;
  private final CpuBackend backend;
  private final CpuBackend wideBackend;
  private final Map<Integer, SrNetwork> networks = new ConcurrentHashMap<>();
  private final BlockingQueue<Workspace> workspaces;
  private final List<Workspace> allWorkspaces = new ArrayList<>();
  private final ExecutorService pool;

  private EsrganUpscaler(Builder b) {
    this.weights = b.weights;
    this.modelsDir = b.modelsDir;
    this.fixedScale = b.scale;
    this.tileSize = b.tileSize;
    this.maxMargin = b.maxMargin;
    this.threads = b.threads;
    this.backend = new CpuBackend(1);
    this.gemm = b.directBlas ? new OpenBlasGemm() : new BackendGemm(backend);
    // a frame that is a single tile parallelises inside each GEMM instead of across tiles
    this.wideBackend = threads > 1 ? new CpuBackend(threads) : backend;
    this.wideGemm = threads > 1 && !b.directBlas ? new BackendGemm(wideBackend) : gemm;
    this.workspaces = new ArrayBlockingQueue<>(threads);
    for (int i = 0; i < threads; i++) {
      Workspace ws = new Workspace(gemm);
      allWorkspaces.add(ws);
      workspaces.add(ws);
    }
    AtomicInteger n = new AtomicInteger();
    this.pool =
        Executors.newFixedThreadPool(
            threads,
            r -> {
              Thread t = new Thread(r, "esrgan-tile-" + n.incrementAndGet());
              t.setDaemon(true);
              return t;
            });
    LOG.info(
        "esrgan engine: weights={} ({}), scale={}, tile={}, maxMargin={}, threads={}, gemm={}",
        weights.id(),
        modelsDir == null ? "bundled" : modelsDir,
        fixedScale == 0 ? "auto" : "x" + fixedScale,
        tileSize,
        maxMargin,
        threads,
        gemm.describe());
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

  SrNetwork network(int scale) {
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
          return net;
        });
  }

  @Override
  public RgbFrame upscale(
      RgbFrame frame, int targetWidth, int targetHeight, BooleanSupplier cancelled) {
    int s = scaleFor(frame.width(), frame.height(), targetWidth, targetHeight);
    RgbFrame big = upscaleByModel(frame, s, cancelled);
    if (big.width() == targetWidth && big.height() == targetHeight) {
      return big;
    }
    return Resampler.resize(big, targetWidth, targetHeight);
  }

  /** Runs the x{@code scale} network over the frame in tiles; output is scale times larger. */
  RgbFrame upscaleByModel(RgbFrame frame, int scale, BooleanSupplier cancelled) {
    SrNetwork net = network(scale);
    int w = frame.width();
    int h = frame.height();
    int margin = Math.min(net.receptiveRadius(), maxMargin);
    int tilesX = (w + tileSize - 1) / tileSize;
    int tilesY = (h + tileSize - 1) / tileSize;
    float[] out = new float[w * scale * h * scale * 3];
    Gemm g = tilesX * tilesY == 1 ? wideGemm : gemm;
    List<Future<?>> futures = new ArrayList<>();
    for (int ty = 0; ty < tilesY; ty++) {
      for (int tx = 0; tx < tilesX; tx++) {
        int x0 = w * tx / tilesX;
        int x1 = w * (tx + 1) / tilesX;
        int y0 = h * ty / tilesY;
        int y1 = h * (ty + 1) / tilesY;
        futures.add(
            pool.submit(() -> runTile(net, frame, out, x0, x1, y0, y1, margin, g, cancelled)));
      }
    }
    try {
      for (Future<?> f : futures) {
        f.get();
      }
    } catch (InterruptedException e) {
      futures.forEach(f -> f.cancel(false));
      Thread.currentThread().interrupt();
      throw new UpscaleCancelledException("interrupted while upscaling");
    } catch (ExecutionException e) {
      futures.forEach(f -> f.cancel(false));
      waitQuietly(futures);
      Throwable cause = e.getCause();
      if (cause instanceof RuntimeException re) {
        throw re;
      }
      throw new IllegalStateException("tile failed: " + cause, cause);
    }
    return new RgbFrame(w * scale, h * scale, out);
  }

  private static void waitQuietly(List<Future<?>> futures) {
    // let running tiles finish so that their workspaces are back before the next frame
    for (Future<?> f : futures) {
      try {
        if (!f.isCancelled()) {
          f.get();
        }
      } catch (Exception ignored) {
        // the first failure is the one reported
      }
    }
  }

  private void runTile(
      SrNetwork net,
      RgbFrame frame,
      float[] out,
      int x0,
      int x1,
      int y0,
      int y1,
      int margin,
      Gemm g,
      BooleanSupplier cancelled) {
    if (cancelled.getAsBoolean()) {
      throw new UpscaleCancelledException("cancelled between tiles");
    }
    int w = frame.width();
    int h = frame.height();
    // expanded region: the margin only where the tile borders another tile, so that the image
    // border sees the same zero padding as a whole-frame run
    int ex0 = Math.max(0, x0 - margin);
    int ex1 = Math.min(w, x1 + margin);
    int ey0 = Math.max(0, y0 - margin);
    int ey1 = Math.min(h, y1 + margin);
    int tw = ex1 - ex0;
    int th = ey1 - ey0;
    float[] tile = new float[tw * th * 3];
    float[] src = frame.pixels();
    for (int y = 0; y < th; y++) {
      System.arraycopy(src, ((ey0 + y) * w + ex0) * 3, tile, y * tw * 3, tw * 3);
    }
    Workspace ws = workspaces.poll();
    if (ws == null) {
      throw new IllegalStateException("no free workspace; more tile tasks than workers");
    }
    float[] res;
    try {
      ws.useGemm(g);
      res = net.run(tile, th, tw, ws);
    } finally {
      workspaces.add(ws);
    }
    int s = net.scale;
    int outW = w * s;
    int rowLen = (x1 - x0) * s * 3;
    int resW = tw * s;
    for (int y = (y0 - ey0) * s; y < (y1 - ey0) * s; y++) {
      int dstY = ey0 * s + y;
      System.arraycopy(
          res, (y * resW + (x0 - ex0) * s) * 3, out, (dstY * outW + x0 * s) * 3, rowLen);
    }
  }

  @Override
  public void close() {
    pool.shutdownNow();
    for (Workspace ws : allWorkspaces) {
      ws.close();
    }
    if (wideBackend != backend) {
      wideBackend.close();
    }
    backend.close();
  }

  /** Validated options; defaults: bundled slim weights, auto scale, 256-px tiles, 1 thread. */
  public static final class Builder {
    private EsrganWeights weights = EsrganWeights.SLIM;
    private Path modelsDir;
    private int scale;
    private int tileSize = 256;
    private int maxMargin = 24;
    private int threads = 1;
    private boolean directBlas;

    /** Which weight set (default {@link EsrganWeights#SLIM}). */
    public Builder weights(EsrganWeights weights) {
      this.weights = weights;
      return this;
    }

    /** Folder holding x2/x3/x4/x8 model folders (default: the bundled copy). */
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

    /** Tile workers (default 1); each runs a single-threaded GEMM. */
    public Builder threads(int threads) {
      if (threads < 1 || threads > 256) {
        throw new IllegalArgumentException("threads must be in 1..256: " + threads);
      }
      this.threads = threads;
      return this;
    }

    /**
     * Calls OpenBLAS directly instead of through the engine's CPU backend (default false); for
     * comparing the two in the benchmark.
     */
    public Builder directBlas(boolean directBlas) {
      this.directBlas = directBlas;
      return this;
    }

    public EsrganUpscaler build() {
      if (weights == EsrganWeights.THICK && modelsDir == null) {
        throw new IllegalArgumentException(
            "esrgan-thick weights are not bundled: set modelsDir to the 'models' folder of "
                + weights.npmPackage());
      }
      return new EsrganUpscaler(this);
    }
  }
}
