package dev.reelflow.engine.checkpoint;

import static org.assertj.core.api.Assertions.assertThat;

import dev.reelflow.engine.backend.DType;
import dev.reelflow.engine.dit.DitConfig;
import dev.reelflow.engine.dit.HunyuanDit;
import dev.reelflow.engine.testing.FormulaValues;
import dev.reelflow.engine.testing.SyntheticModelFolder;
import dev.reelflow.engine.weights.ParamSpec;
import dev.reelflow.engine.weights.SafetensorsWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.function.UnaryOperator;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code model check} on the synthetic folder in the released layout: it passes as written and
 * names the problem of each corrupted copy (missing shard, wrong shape, unknown tensor, wrong
 * dtype, mislabelled config, absent VAE).
 */
class ModelCheckTest {
  @TempDir Path tmp;

  private static final String Q = "double_blocks.0.img_attn_q.weight";

  /** Rewrites a variant's single weight file from its specs, with one change. */
  private static void rewrite(
      Path folder,
      String variant,
      UnaryOperator<SafetensorsWriter> extra,
      String skip,
      long[] reshape,
      String rawDtype)
      throws Exception {
    Path d = folder.resolve("transformer").resolve(variant);
    DitConfig cfg = DitConfig.fromJson(variant, SyntheticModelFolder.transformerConfig(variant));
    SafetensorsWriter w = new SafetensorsWriter();
    for (ParamSpec p : HunyuanDit.params(cfg)) {
      if (p.name().equals(skip)) {
        if (reshape != null) {
          long n = reshape[0] * reshape[1];
          w.add(p.name(), reshape, new float[(int) n], DType.BF16);
        } else if (rawDtype != null) {
          w.addRaw(p.name(), rawDtype, p.shape(), new byte[(int) p.size() * 8]);
        }
        continue;
      }
      w.add(p.name(), p.shape(), FormulaValues.parameter(p.name(), p.shape()), DType.BF16);
    }
    extra.apply(w).writeTo(d.resolve("diffusion_pytorch_model.safetensors"));
  }

  @Test
  void theSyntheticFolderPassesWithMemoryPerStage() throws Exception {
    Path f = SyntheticModelFolder.writeDefault(tmp.resolve("ok"));
    ModelCheckReport r = ModelCheck.run(f);
    System.out.println(r.render());
    assertThat(r.problems()).isEmpty();
    assertThat(r.ok()).isTrue();
    assertThat(r.variants()).hasSize(11);
    assertThat(r.seconds()).isLessThan(30);
    ModelCheckReport.VariantReport bf16 =
        r.variants().stream().filter(v -> v.name().equals("720p_i2v")).findFirst().orElseThrow();
    ModelCheckReport.VariantReport f32 =
        r.variants().stream().filter(v -> v.name().equals("480p_i2v")).findFirst().orElseThrow();
    // same shapes: bf16 stores half the bytes; the CPU keeps bf16 linear weights 16-bit
    long stored32 = f32.memory().storedByDtype().get("F32");
    assertThat(bf16.memory().storedByDtype()).containsOnlyKeys("BF16");
    assertThat(bf16.memory().storedByDtype().get("BF16")).isEqualTo(stored32 / 2);
    assertThat(bf16.memory().cpuF32Bytes()).isEqualTo(stored32);
    assertThat(bf16.memory().cpuBytes()).isBetween(stored32 / 2 + 1, stored32 - 1);
    assertThat(f32.memory().cpuBytes()).isEqualTo(stored32);
    assertThat(bf16.memory().deviceBytes()).isEqualTo(stored32 / 2);
    // activations at the variant's resolution: 720p, 121 frames = 31 x 45 x 80 tokens, CFG x2
    assertThat(bf16.memory().activationBytes()).isEqualTo(31L * 45 * 80 * 2 * 64 * 4 * 24);
    assertThat(bf16.sampler().shift()).isEqualTo(7.0);
    assertThat(bf16.fingerprint()).startsWith("sha256:");
    ModelCheckReport.ComponentReport vae =
        r.components().stream().filter(c -> c.name().equals("vae")).findFirst().orElseThrow();
    assertThat(vae.checked()).isTrue();
    assertThat(vae.check().ok()).isTrue();
    ModelCheckReport.ComponentReport siglip =
        r.components().stream()
            .filter(c -> c.name().equals(ModelCheck.SIGLIP_TOWER))
            .findFirst()
            .orElseThrow();
    assertThat(siglip.checked()).isTrue();
    assertThat(siglip.check().ok()).isTrue();
    assertThat(siglip.check().ignored()).containsKey("vision_model.head.probe");
    assertThat(r.render())
        .contains("720p_i2v_distilled_sparse  OK")
        .contains("ssta(tile=1x2x2")
        .contains("mean-flow")
        .contains("text_encoder/llm  OK")
        .contains("text_encoder/Glyph-SDXL-v2  OK")
        .contains("the engine runs 2 of its 4 layers")
        .endsWith("no tensor data read)");
    ModelCheckReport.ComponentReport llm =
        r.components().stream()
            .filter(c -> c.name().equals("text_encoder/llm"))
            .findFirst()
            .orElseThrow();
    assertThat(llm.checked()).isTrue();
    assertThat(llm.check().ignored()).containsKey("lm_head.weight");
    assertThat(llm.memory().deviceBytes()).isPositive();
  }

  @Test
  void namesAMissingTokenizerAndMisShapedGlyphWeights() throws Exception {
    Path f = SyntheticModelFolder.writeDefault(tmp.resolve("te"));
    java.nio.file.Files.delete(f.resolve("text_encoder/llm/tokenizer.json"));
    java.nio.file.Files.writeString(
        f.resolve("text_encoder/Glyph-SDXL-v2/assets/color_idx.json"),
        "{\"white\": 0, \"black\": 1, \"red\": 2}");
    ModelCheckReport r = ModelCheck.run(f);
    assertThat(r.ok()).isFalse();
    assertThat(r.problems())
        .anyMatch(p -> p.startsWith("text_encoder/llm: ") && p.contains("tokenizer.json"))
        .anyMatch(p -> p.startsWith("text_encoder/Glyph-SDXL-v2: ") && p.contains("embed_tokens"));
  }

  @Test
  void namesAMissingShard() throws Exception {
    Path f = SyntheticModelFolder.writeDefault(tmp.resolve("shard"));
    Files.delete(f.resolve("transformer/480p_t2v").resolve(SyntheticModelFolder.shardName(1, 2)));
    ModelCheckReport r = ModelCheck.run(f);
    assertThat(r.ok()).isFalse();
    assertThat(r.problems())
        .anyMatch(
            p ->
                p.startsWith(
                    "transformer/480p_t2v: missing shard " + SyntheticModelFolder.shardName(1, 2)))
        .anyMatch(p -> p.startsWith("transformer/480p_t2v: missing tensor "));
    assertThat(r.problems()).noneMatch(p -> p.startsWith("transformer/480p_i2v"));
  }

  @Test
  void namesAWrongShapeAnUnknownTensorAndAWrongDtype() throws Exception {
    Path f = SyntheticModelFolder.writeDefault(tmp.resolve("bad"));
    rewrite(f, "720p_i2v", w -> w, Q, new long[] {64, 32}, null);
    rewrite(
        f,
        "720p_t2v",
        w -> w.add("guidance_in.mlp.0.weight", new long[] {64, 256}, new float[64 * 256]),
        "",
        null,
        null);
    rewrite(f, "480p_i2v_distilled", w -> w, Q, null, "F64");
    ModelCheckReport r = ModelCheck.run(f);
    System.out.println(r.render());
    assertThat(r.problems())
        .contains(
            "transformer/720p_i2v: mis-shaped tensor " + Q + ": expected [64, 64] got [64, 32]",
            "transformer/720p_t2v: unexpected tensor guidance_in.mlp.0.weight",
            "transformer/480p_i2v_distilled: wrong dtype "
                + Q
                + ": stored as F64; the engine reads F32, F16 or BF16");
    assertThat(r.problems()).hasSize(3);
  }

  @Test
  void namesAMislabelledConfigAStrayFileAndAnAbsentVae() throws Exception {
    Path f =
        SyntheticModelFolder.builder()
            .variants(List.of("480p_t2v", "720p_sr_distilled"))
            .build()
            .write(tmp.resolve("labels"));
    Path cfg = f.resolve("transformer/480p_t2v/config.json");
    Files.writeString(
        cfg, Files.readString(cfg).replace("\"ideal_task\": \"t2v\"", "\"ideal_task\": \"i2v\""));
    Files.copy(
        f.resolve("transformer/720p_sr_distilled/diffusion_pytorch_model.safetensors"),
        f.resolve("transformer/480p_t2v/old.safetensors"));
    deleteTree(f.resolve("vae"));
    deleteTree(f.resolve("upsampler/720p_sr_distilled"));
    ModelCheckReport r = ModelCheck.run(f);
    assertThat(r.problems())
        .contains(
            "transformer/480p_t2v: config.json says ideal_task i2v but the folder is 480p_t2v",
            "transformer/480p_t2v: stray file old.safetensors: not named by"
                + " diffusion_pytorch_model.safetensors.index.json",
            "vae/ is absent: every render decodes its latents with the VAE")
        .anyMatch(p -> p.contains("needs upsampler/720p_sr_distilled"));
    assertThat(r.notes()).anyMatch(n -> n.contains("released transformer variants not in"));
  }

  @Test
  void aFolderThatIsNoCheckpointIsOneProblem() throws Exception {
    ModelCheckReport r = ModelCheck.run(Files.createDirectories(tmp.resolve("x")));
    assertThat(r.ok()).isFalse();
    assertThat(r.problems()).singleElement().asString().contains("no transformer/");
  }

  private static void deleteTree(Path p) throws Exception {
    try (var s = Files.walk(p)) {
      for (Path x : s.sorted(java.util.Comparator.reverseOrder()).toList()) {
        Files.delete(x);
      }
    }
  }
}
