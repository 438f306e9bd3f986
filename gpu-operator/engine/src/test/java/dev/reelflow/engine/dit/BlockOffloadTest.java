package dev.reelflow.engine.dit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.reelflow.engine.GenerationSpec;
import dev.reelflow.engine.NativeVideoEngine;
import dev.reelflow.engine.attention.AttentionConfig;
import dev.reelflow.engine.backend.BlockOffload;
import dev.reelflow.engine.backend.CpuBackend;
import dev.reelflow.engine.backend.Tensor;
import dev.reelflow.engine.backend.TorchBackend;
import dev.reelflow.engine.weights.WeightSet;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * Block offload through the two hooks around {@link HunyuanDit#doubleBlock}: the blocks' weights
 * move to host memory, each block is resident while it runs (and the next one is prefetched), at
 * most two blocks are on the device, and the results equal the run without offload. On the CPU
 * device the copies are synchronous; the CUDA side stream runs only on a GPU.
 */
class BlockOffloadTest {

  private static float[] random(long seed, int n) {
    Random r = new Random(seed);
    float[] a = new float[n];
    for (int i = 0; i < n; i++) {
      a[i] = (float) r.nextGaussian();
    }
    return a;
  }

  private static float[] runBlocks(TorchBackend be, boolean offload) {
    DitConfig cfg = DitConfig.tiny().toBuilder().depth(3).build();
    int h = cfg.hidden();
    int[] grid = {2, 4, 4};
    int n = 32;
    int txt = 7;
    float[][] rope = Rope3d.tables(grid, cfg.ropeDims(), cfg.ropeTheta());
    try (WeightSet w = WeightSet.random(HunyuanDit.params(cfg), be, 3);
        Tensor img = be.fromArray(random(1, n * h), n, h);
        Tensor t = be.fromArray(random(2, txt * h), txt, h);
        Tensor sv = be.fromArray(random(3, h), 1, h);
        Tensor cos = be.fromArray(rope[0], n, cfg.headDim() / 2);
        Tensor sin = be.fromArray(rope[1], n, cfg.headDim() / 2)) {
      List<List<Tensor>> blocks = new ArrayList<>();
      for (int i = 0; i < cfg.depth(); i++) {
        String prefix = "double_blocks." + i + ".";
        blocks.add(
            w.all().entrySet().stream()
                .filter(e -> e.getKey().startsWith(prefix))
                .map(e -> e.getValue())
                .toList());
      }
      HunyuanDit dit = new HunyuanDit(cfg, w, be, AttentionConfig.dense());
      try (BlockOffload off = offload ? BlockOffload.of(be, blocks) : BlockOffload.disabled()) {
        for (int i = 0; i < cfg.depth(); i++) {
          off.beforeBlock(i);
          if (offload) {
            assertThat(off.isResident(i)).isTrue();
            assertThat(off.isResident(i + 1)).isEqualTo(i + 1 < cfg.depth());
          }
          dit.doubleBlock(i, img, t, 1, new int[] {txt}, sv, grid, cos, sin);
          off.afterBlock(i);
          assertThat(off.isResident(i)).isFalse();
        }
        if (offload) {
          long oneBlock = blocks.get(0).stream().mapToLong(x -> x.size() * 4).sum();
          assertThat(off.peakResidentBytes()).isEqualTo(2 * oneBlock);
        }
      }
      float[] out = be.toArray(img);
      // weights are still readable after the offload closed
      assertThat(be.toArray(blocks.get(1).get(0))).isNotEmpty();
      return out;
    }
  }

  @Test
  void offloadedBlocksGiveTheSameResultAndAtMostTwoAreResident() {
    try (TorchBackend be = TorchBackend.builder().threads(2).build()) {
      float[] plain = runBlocks(be, false);
      float[] offloaded = runBlocks(be, true);
      assertThat(offloaded).containsExactly(plain);
    }
  }

  @Test
  void theEngineWithOffloadedBlocksRendersTheSameLatents() {
    GenerationSpec spec =
        GenerationSpec.builder().prompt("a red kite").size(32, 32).frames(5).steps(2).build();
    float[][] latents = new float[2][];
    for (int run = 0; run < 2; run++) {
      try (TorchBackend be = TorchBackend.builder().threads(2).build();
          NativeVideoEngine e =
              NativeVideoEngine.builder()
                  .backend(be)
                  .model(DitConfig.tiny().toBuilder().depth(3).build())
                  .offloadBlocks(run == 1)
                  .build()) {
        latents[run] = e.generate(spec, null).latents();
      }
    }
    assertThat(latents[1]).containsExactly(latents[0]);
  }

  @Test
  void offloadNeedsTheTorchBackendAndWholeTensors() {
    try (CpuBackend cpu = new CpuBackend(1);
        Tensor t = cpu.allocate(4)) {
      assertThatThrownBy(() -> BlockOffload.of(cpu, List.of(List.of(t))))
          .isInstanceOf(IllegalArgumentException.class)
          .hasMessageContaining("torch backend");
    }
    try (TorchBackend be = TorchBackend.builder().build();
        Tensor t = be.allocate(8)) {
      assertThatThrownBy(() -> BlockOffload.of(be, List.of(List.of(t.slice(2, 4)))))
          .isInstanceOf(IllegalArgumentException.class)
          .hasMessageContaining("whole tensors");
    }
  }
}
