package dev.reelflow.upscale;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.reelflow.stack.RequiredTools;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The Java port reproduces TensorFlow.js: fixtures generated once by tools/tfjs-reference.mjs
 * (@tensorflow/tfjs + wasm backend, same weights) must agree above 45 dB PSNR (ARCHITECTURE.md,
 * decision 17).
 */
class TfjsReferenceTest {
  private static final String DIR = "dev/reelflow/upscale/tfjs/";

  static List<String> cases() throws IOException {
    List<String> names = new ArrayList<>();
    for (JsonNode c : index().path("cases")) {
      names.add(c.path("name").asText());
    }
    return names;
  }

  @ParameterizedTest
  @MethodSource("cases")
  void matchesTensorflowJs(String name) throws IOException {
    JsonNode c = null;
    for (JsonNode n : index().path("cases")) {
      if (n.path("name").asText().equals(name)) {
        c = n;
      }
    }
    int scale = c.path("scale").asInt();
    int h = c.path("h").asInt();
    int w = c.path("w").asInt();
    EsrganWeights weights =
        c.path("pkg").asText().equals("thick") ? EsrganWeights.THICK : EsrganWeights.SLIM;
    RequiredTools.assume(
        "npm",
        weights.bundled(),
        weights.id() + " is not in this build (the build fetches it with npm; see pom.xml)");
    RgbFrame in = new RgbFrame(w, h, floats(DIR + name + ".input.f32"));
    float[] expected = floats(DIR + name + ".output.f32");
    try (EsrganUpscaler up = EsrganUpscaler.builder().weights(weights).scale(scale).build()) {
      RgbFrame out = up.upscaleByModel(in, scale, () -> false);
      assertThat(out.width()).isEqualTo(w * scale);
      assertThat(out.height()).isEqualTo(h * scale);
      double psnr = ImageQuality.psnr(out.pixels(), expected);
      System.out.printf("TF.js agreement %s: %.2f dB PSNR%n", name, psnr);
      assertThat(psnr).as("PSNR against TF.js for %s", name).isGreaterThan(45.0);
    }
  }

  static JsonNode index() throws IOException {
    try (InputStream in = resource(DIR + "cases.json")) {
      return new ObjectMapper().readTree(in);
    }
  }

  static float[] floats(String path) throws IOException {
    try (InputStream in = resource(path)) {
      byte[] b = in.readAllBytes();
      float[] f = new float[b.length / 4];
      ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer().get(f);
      return f;
    }
  }

  private static InputStream resource(String path) throws IOException {
    InputStream in = TfjsReferenceTest.class.getClassLoader().getResourceAsStream(path);
    if (in == null) {
      throw new IOException("missing test resource " + path);
    }
    return in;
  }
}
