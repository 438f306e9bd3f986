package dev.reelflow.upscale;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class TfjsModelLoaderTest {
  private static final String SLIM = "dev/reelflow/upscale/esrgan-slim/";

  @ParameterizedTest
  @ValueSource(ints = {2, 3, 4, 8})
  void readsEveryBundledScaleWithShapesAndLayerOrder(int scale) {
    TfjsLayersModel m = TfjsModelLoader.load(ModelSource.classpath(SLIM + "x" + scale));
    List<String> order = m.layers().stream().map(TfjsLayersModel.Layer::name).toList();
    assertThat(order)
        .containsSubsequence(
            "LR",
            "F_m1",
            "F_0",
            "F_1_1",
            "LFF_1",
            "LRL_1",
            "F_2_1",
            "LFF_2",
            "LRL_2",
            "GFF_1",
            "GFF_2",
            "FDF",
            "UPN1",
            "UPN2",
            "UPN3",
            "UPsample",
            "SR");
    assertThat(m.inputLayer()).isEqualTo("LR");
    assertThat(m.outputLayer()).isEqualTo("SR");
    assertThat(m.weights()).hasSize(24);
    assertThat(m.weights().get("F_m1/kernel").shape()).containsExactly(3, 3, 3, 64);
    assertThat(m.weights().get("UPN1/kernel").shape()).containsExactly(5, 5, 64, 64);
    assertThat(m.weights().get("LFF_1/kernel").shape()).containsExactly(1, 1, 68, 64);
    int up = 3 * scale * scale;
    assertThat(m.weights().get("UPN3/kernel").shape()).containsExactly(3, 3, 32, up);
    assertThat(m.weights().get("SR/kernel").shape()).containsExactly(3, 3, up, 3);
    SrNetwork net = SrNetwork.compile(m, 255f);
    assertThat(net.scale).isEqualTo(scale);
    assertThat(net.receptiveRadius()).isEqualTo(10);
    // FLOPs per input pixel: the 64-channel convs at LR, plus UPN3 and the sub-pixel SR conv
    double lrBody = 3456 + 73728 + 4608 + 8704 + 4608 + 8704 + 16384 + 73728 + 204800 + 36864;
    double upn3 = 2.0 * 9 * 32 * up;
    double sr = 2.0 * 9 * up * up;
    assertThat(net.flopsPerInputPixel).isEqualTo(lrBody + upn3 + sr);
  }

  @Test
  void truncatedShardNamesTheTensorAndTheByteCounts(@TempDir Path dir) throws IOException {
    copyX2(dir);
    Path shard = dir.resolve("group1-shard1of1.bin");
    byte[] all = Files.readAllBytes(shard);
    Files.write(shard, java.util.Arrays.copyOf(all, all.length - 1000));
    assertThatThrownBy(() -> TfjsModelLoader.load(ModelSource.directory(dir)))
        .isInstanceOf(ModelFormatException.class)
        .hasMessageContaining("truncated")
        .hasMessageContaining("tensor 'UPN3/kernel' (layer UPN3")
        .hasMessageContaining("hold " + (all.length - 1000) + " bytes")
        .hasMessageContaining("expects " + all.length + " bytes");
  }

  @Test
  void shardOfAnotherModelIsRejected(@TempDir Path dir) throws IOException {
    copyX2(dir);
    byte[] x3 = read(SLIM + "x3/group1-shard1of1.bin");
    Files.write(dir.resolve("group1-shard1of1.bin"), x3);
    assertThatThrownBy(() -> TfjsModelLoader.load(ModelSource.directory(dir)))
        .isInstanceOf(ModelFormatException.class)
        .hasMessageContaining("hold " + x3.length + " bytes but the manifest describes 888300");
  }

  @Test
  void kernelShapeThatDisagreesWithTheTopologyIsRejected(@TempDir Path dir) throws IOException {
    copyX2(dir);
    Path json = dir.resolve("model.json");
    String s = Files.readString(json);
    // the topology now asks UPN2 for 33 filters while the weights hold 32
    s =
        s.replace(
            "\"name\": \"UPN2\", \"trainable\": true, \"dtype\": \"float32\", \"filters\": 32",
            "\"name\": \"UPN2\", \"trainable\": true, \"dtype\": \"float32\", \"filters\": 33");
    assertThat(s).contains("\"filters\": 33");
    Files.writeString(json, s);
    SrNetwork.class.getName();
    assertThatThrownBy(
            () -> SrNetwork.compile(TfjsModelLoader.load(ModelSource.directory(dir)), 255f))
        .isInstanceOf(ModelFormatException.class)
        .hasMessageContaining("Conv2D 'UPN2' kernel has shape [3, 3, 64, 32]")
        .hasMessageContaining("needs [3, 3, 64, 33]");
  }

  @Test
  void brokenLayerOrderAndUnknownLayersAreRejected(@TempDir Path dir) throws IOException {
    copyX2(dir);
    Path json = dir.resolve("model.json");
    String original = Files.readString(json);
    Files.writeString(
        json, original.replace("[[[\"F_0\", 0, 0, {}]]]", "[[[\"GFF_2\", 0, 0, {}]]]"));
    assertThatThrownBy(() -> TfjsModelLoader.load(ModelSource.directory(dir)))
        .isInstanceOf(ModelFormatException.class)
        .hasMessageContaining("reads 'GFF_2' which is not defined before it");
    Files.writeString(
        json,
        original.replace("\"class_name\": \"UpSampling2D\"", "\"class_name\": \"Cropping2D\""));
    assertThatThrownBy(
            () -> SrNetwork.compile(TfjsModelLoader.load(ModelSource.directory(dir)), 255f))
        .isInstanceOf(ModelFormatException.class)
        .hasMessageContaining("layer 'UPsample' uses layer class Cropping2D");
  }

  @Test
  void missingFolderSaysWhatToPointAt(@TempDir Path dir) {
    assertThatThrownBy(() -> EsrganWeights.THICK.source(2, dir))
        .isInstanceOf(ModelFormatException.class)
        .hasMessageContaining("@upscalerjs/esrgan-thick@1.0.0");
  }

  private static void copyX2(Path dir) throws IOException {
    Files.write(dir.resolve("model.json"), read(SLIM + "x2/model.json"));
    Files.write(dir.resolve("group1-shard1of1.bin"), read(SLIM + "x2/group1-shard1of1.bin"));
  }

  private static byte[] read(String path) throws IOException {
    try (InputStream in = TfjsModelLoaderTest.class.getClassLoader().getResourceAsStream(path)) {
      return in.readAllBytes();
    }
  }
}
