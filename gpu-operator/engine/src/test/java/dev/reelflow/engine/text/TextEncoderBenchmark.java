package dev.reelflow.engine.text;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.reelflow.engine.backend.CpuBackend;
import dev.reelflow.engine.backend.DType;
import dev.reelflow.engine.checkpoint.ModelFolder;
import dev.reelflow.engine.testing.SyntheticModelFolder;
import dev.reelflow.engine.weights.SafetensorsWriter;
import dev.reelflow.engine.weights.WeightSet;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Prints CPU times of the text encoders (never asserts them): a prompt through the tiny synthetic
 * encoders, and one decoder layer at the released widths (Qwen2.5-VL 7B: 3584 / 18944, 28/4 heads;
 * byT5-small: 1472 / 3584, 6 heads) on seeded random weights, from which the real encoders' time
 * per prompt is estimated (layers run x time per layer). Run with -Dreelflow.bench=true.
 */
class TextEncoderBenchmark {
  @TempDir Path dir;

  @Test
  void timesThePerPromptCost() throws Exception {
    assumeTrue(Boolean.getBoolean("reelflow.bench"), "benchmark: -Dreelflow.bench=true");
    int threads = Runtime.getRuntime().availableProcessors();
    try (CpuBackend cpu = new CpuBackend(threads)) {
      SyntheticModelFolder.builder().variants(List.of("480p_t2v")).build().write(dir.resolve("f"));
      String prompt = "A red fox runs through fresh snow at dawn under a sign \"OPEN 24/7\"";
      try (HunyuanTextEncoder e =
          HunyuanTextEncoder.open(ModelFolder.open(dir.resolve("f")), cpu, true)) {
        int tokens = e.template().tokens(prompt).ids().length;
        System.out.printf(
            "tiny encoders (%s): %d template tokens, %.1f ms per prompt%n",
            e.id(), tokens, time(() -> e.encode(prompt)) * 1e3);
      }
      // one Qwen2.5-VL-7B layer, bf16 weights kept 16-bit, 130 tokens (crop 108 + a short prompt)
      QwenConfig q = new QwenConfig(3584, 18944, 28, 28, 4, 128, 1e-6, 1e6, 256, 1, "model.");
      Path emb = dir.resolve("emb.safetensors");
      new SafetensorsWriter()
          .add(q.embedName(), new long[] {256, 3584}, new float[256 * 3584], DType.F32)
          .writeTo(emb);
      try (WeightSet w = WeightSet.random(q.layerParams(), cpu, 1);
          WeightSet half = halfCopy(w, cpu);
          QwenTextModel m =
              new QwenTextModel(q, half, EmbeddingRows.open(emb, q.embedName()), cpu, "bench")) {
        w.close();
        int[] ids = new int[130];
        double s = time(() -> m.hiddenStates(ids, null));
        System.out.printf(
            "Qwen2.5-VL-7B layer (3584/18944, 28/4 heads, bf16 weights), 130 tokens, %d threads:"
                + " %.2f s; 26 layers: about %.0f s per prompt (x2 with CFG's negative prompt)%n",
            threads, s, 26 * s);
      }
      T5Config t = new T5Config(1472, 64, 3584, 6, 1, 32, 128, 1e-6, 387);
      try (WeightSet w = WeightSet.random(t.params(), cpu, 2);
          GlyphEncoder g =
              new GlyphEncoder(
                  t,
                  w,
                  new GlyphTokenizer(List.of("a", "b"), java.util.Map.of("en-x", 0), 256),
                  cpu,
                  "bench")) {
        int[] ids = new int[30];
        double s = time(() -> g.encode(ids, null));
        System.out.printf(
            "byT5-small layer (1472/3584, 6 heads, f32), 30 tokens: %.1f ms; 12 layers: about %.0f"
                + " ms per quoted prompt%n",
            s * 1e3, 12 * s * 1e3);
      }
    }
  }

  private static WeightSet halfCopy(WeightSet w, CpuBackend cpu) {
    java.util.Map<String, dev.reelflow.engine.backend.Tensor> m = new java.util.LinkedHashMap<>();
    w.all()
        .forEach(
            (k, v) ->
                m.put(k, v.rank() == 2 ? cpu.convert(v, DType.BF16) : cpu.convert(v, DType.F32)));
    return WeightSet.of(m, "bench-bf16");
  }

  private static double time(Runnable r) {
    r.run();
    long best = Long.MAX_VALUE;
    for (int i = 0; i < 3; i++) {
      long t0 = System.nanoTime();
      r.run();
      best = Math.min(best, System.nanoTime() - t0);
    }
    return best / 1e9;
  }
}
