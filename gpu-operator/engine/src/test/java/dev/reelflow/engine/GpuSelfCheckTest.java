package dev.reelflow.engine;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.reelflow.engine.backend.BackendSpec;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The self-check's CPU part ({@code --backend torch}, small stand-in shapes): every conformance
 * check passes, every benchmark reports a time, probes are included (a failing probe is reported,
 * not thrown), and the JSON report says all of it.
 */
class GpuSelfCheckTest {

  @Test
  void torchOnCpuPassesAndWritesTheJsonReport(@TempDir Path dir) throws Exception {
    Path json = dir.resolve("out/selfcheck.json");
    GpuSelfCheck.Report r =
        GpuSelfCheck.builder()
            .backend(BackendSpec.parse("torch"))
            .threads(2)
            .output(json)
            .probe(
                new GpuSelfCheck.Probe() {
                  @Override
                  public String name() {
                    return "esrgan-x2 (test probe)";
                  }

                  @Override
                  public GpuSelfCheck.Measurement run(dev.reelflow.engine.backend.Backend be) {
                    return new GpuSelfCheck.Measurement(
                        name(), "1 frame", 0.5, 2.0, "frames/s", be.name());
                  }
                })
            .probe(
                new GpuSelfCheck.Probe() {
                  @Override
                  public String name() {
                    return "nvenc (test probe)";
                  }

                  @Override
                  public GpuSelfCheck.Measurement run(dev.reelflow.engine.backend.Backend be) {
                    throw new IllegalStateException("no encoder here");
                  }
                })
            .build()
            .run();
    assertThat(r.passed()).as(r.table()).isTrue();
    assertThat(r.table()).contains("CPU stand-ins").contains("attention ssta").contains("PASSED");

    JsonNode root = new ObjectMapper().readTree(Files.readString(json));
    assertThat(root.get("backend").asText()).isEqualTo("torch");
    assertThat(root.get("fullShapes").asBoolean()).isFalse();
    assertThat(root.get("passed").asBoolean()).isTrue();
    assertThat(root.get("software").asText()).contains("libtorch 2.10.0").contains("no CUDA");
    assertThat(root.get("conformance").size()).isGreaterThan(50);
    for (JsonNode c : root.get("conformance")) {
      assertThat(c.get("passed").asBoolean()).as(c.toString()).isTrue();
    }
    assertThat(root.get("ditParity").get("error").asDouble()).isLessThan(1e-4);
    List<String> names = new ArrayList<>();
    for (JsonNode b : root.get("benchmarks")) {
      String name = b.get("name").asText();
      names.add(name);
      if (!name.startsWith("nvenc")) {
        assertThat(b.get("seconds").asDouble()).as(name).isPositive();
        assertThat(b.get("value").asDouble()).as(name).isPositive();
      }
      if (name.startsWith("attention") || name.startsWith("dit") || name.startsWith("gemm")) {
        assertThat(b.get("shape").asText()).as(name).contains("cpu stand-in");
      }
    }
    assertThat(names)
        .containsExactly(
            "attention dense",
            "attention ssta",
            "dit block (tiny config)",
            "dit block (tiny config)",
            "linear bf16 weights",
            "gemm f32",
            "esrgan-x2 (test probe)",
            "nvenc (test probe)");
    JsonNode nvenc = root.get("benchmarks").get(7);
    assertThat(nvenc.get("seconds").isNull()).isTrue();
    assertThat(nvenc.get("note").asText()).startsWith("failed:").contains("no encoder here");
    assertThat(root.get("benchmarks").get(0).get("note").asText())
        .contains("scaled_dot_product_attention");
    assertThat(root.get("elapsedSeconds").asDouble()).isLessThan(60);
  }

  @Test
  void knowsThePeaksOfCommonCardsAndSaysUnknownOtherwise() {
    assertThat(GpuSelfCheck.peakBf16Tflops("NVIDIA H100 80GB HBM3")).isEqualTo(989);
    assertThat(GpuSelfCheck.peakBf16Tflops("NVIDIA H100 PCIe")).isEqualTo(756);
    assertThat(GpuSelfCheck.peakBf16Tflops("NVIDIA A100-SXM4-80GB")).isEqualTo(312);
    assertThat(GpuSelfCheck.peakBf16Tflops("Some Future GPU")).isNaN();
  }
}
