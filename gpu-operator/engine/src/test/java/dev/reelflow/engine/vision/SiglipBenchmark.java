package dev.reelflow.engine.vision;

import dev.reelflow.engine.GenerationSpec;
import dev.reelflow.engine.backend.Backend;
import dev.reelflow.engine.backend.BackendSpec;
import dev.reelflow.engine.backend.Backends;
import dev.reelflow.engine.backend.Tensor;
import dev.reelflow.engine.testing.SyntheticModelFolder;
import dev.reelflow.engine.weights.ParamSpec;
import dev.reelflow.engine.weights.WeightSet;
import java.util.List;

/**
 * SigLIP vision encoder figures (a harness, not a test): parameters and weight memory of the
 * released so400m/14 tower, CPU time per image of the tiny configurations, and the real-size time
 * per image estimated from measured pieces at the real width (one encoder layer of 1152 wide, 16
 * heads, MLP 4304 over 729 tokens; the patch embedding and position add; the post-LayerNorm) as
 * embed + 27 x layer + post, plus the image handling (Lanczos fit of a 1920x1080 reference image to
 * 848x480, the processor's bicubic resize to 384x384). Weights are seeded random (time does not
 * depend on the values).
 *
 * <p>Run: {@code mvn -B -o -q -pl gpu-operator/engine exec:java -Dexec.classpathScope=test
 * -Dexec.mainClass=dev.reelflow.engine.vision.SiglipBenchmark -Dexec.args="cpu 2"} (backend cpu,
 * torch or cuda; threads).
 */
public final class SiglipBenchmark {
  private SiglipBenchmark() {}

  private static GenerationSpec.Image image(int w, int h) {
    int[] px = new int[w * h];
    for (int i = 0; i < px.length; i++) {
      px[i] = 0xff000000 | (int) (i * 40503L) & 0xffffff;
    }
    return new GenerationSpec.Image(w, h, px);
  }

  /** Median seconds of {@code runs} runs after as many warm-up runs. */
  private static double time(int runs, Runnable r) {
    for (int i = 0; i < runs; i++) {
      r.run();
    }
    double[] t = new double[runs];
    for (int i = 0; i < runs; i++) {
      long t0 = System.nanoTime();
      r.run();
      t[i] = (System.nanoTime() - t0) / 1e9;
    }
    java.util.Arrays.sort(t);
    return t[runs / 2];
  }

  public static void main(String[] args) {
    String backend = args.length > 0 ? args[0] : "cpu";
    int threads = args.length > 1 ? Integer.parseInt(args[1]) : 2;
    SiglipConfig real = SiglipConfig.so400m();
    long params = real.parameterCount();
    System.out.printf(
        "SigLIP so400m/14: %,d parameters without the pooling head; weights %.2f GB in F32,"
            + " %.2f GB in BF16/F16%n",
        params, params * 4 / 1e9, params * 2 / 1e9);
    try (Backend be = Backends.open(BackendSpec.parse(backend), threads)) {
      System.out.printf("backend %s (%s), %d threads%n", be.name(), be.device(), threads);
      for (SiglipConfig tiny :
          List.of(
              SyntheticModelFolder.SIGLIP, new SiglipConfig(32, 2, 4, 48, 44, 14, 3, 1e-6, true))) {
        WeightSet w = WeightSet.random(SiglipVisionEncoder.params(tiny), be, 1);
        SiglipPreprocessor pre =
            new SiglipPreprocessor(
                true,
                tiny.imageSize(),
                tiny.imageSize(),
                PillowResample.Filter.BICUBIC,
                true,
                1 / 255.0,
                true,
                new float[] {0.5f, 0.5f, 0.5f},
                new float[] {0.5f, 0.5f, 0.5f});
        try (SiglipVisionEncoder enc = new SiglipVisionEncoder(tiny, pre, w, be, "bench")) {
          GenerationSpec.Image im = image(256, 144);
          double s = time(20, () -> enc.encode(im));
          System.out.printf(
              "tiny %s (%d tokens, %,d parameters): %.2f ms per image (processor included)%n",
              tiny, tiny.tokens(), tiny.parameterCount(), s * 1e3);
        }
      }
      // real width, one layer: the full tower repeats that layer 27 times
      SiglipConfig one =
          new SiglipConfig(
              real.hidden(),
              1,
              real.heads(),
              real.intermediate(),
              real.imageSize(),
              real.patch(),
              3,
              1e-6,
              true);
      List<ParamSpec> specs = SiglipVisionEncoder.params(one);
      WeightSet w = WeightSet.random(specs, be, 2);
      SiglipPreprocessor pre = SiglipPreprocessor.so400m();
      try (SiglipVisionEncoder enc = new SiglipVisionEncoder(one, pre, w, be, "bench")) {
        GenerationSpec.Image ref = image(1920, 1080);
        double fit = time(3, () -> ReferenceImages.fit(ref, 848, 480));
        GenerationSpec.Image frame = ReferenceImages.fit(ref, 848, 480);
        double prep = time(5, () -> pre.apply(frame));
        float[] pixels = pre.apply(frame);
        double embed =
            time(
                5,
                () -> {
                  try (Tensor t = enc.embed(pixels)) {
                    be.toArray(t);
                  }
                });
        double oneLayer = time(5, () -> enc.encodePixels(pixels)); // embed + 1 layer + post-LN
        double layer = oneLayer - embed;
        double total = embed + real.layers() * layer;
        System.out.printf(
            "real width: fit 1920x1080 -> 848x480 (Lanczos) %.1f ms, processor 848x480 -> 384x384"
                + " %.1f ms%n",
            fit * 1e3, prep * 1e3);
        System.out.printf(
            "real width: patch embedding + positions %.1f ms, one encoder layer (+ post-LN) %.1f"
                + " ms (measured)%n",
            embed * 1e3, layer * 1e3);
        System.out.printf(
            "so400m/14 per image, estimated: %.2f s = embed + 27 x layer; with the image handling"
                + " %.2f s%n",
            total, total + fit + prep);
      }
    }
  }
}
