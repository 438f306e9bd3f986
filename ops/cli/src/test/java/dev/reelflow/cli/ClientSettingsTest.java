package dev.reelflow.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ClientSettingsTest {
  @TempDir Path dir;

  @Test
  void aPipelineDirectoryOfOpsClusterIsFoundThroughItsPipelineJson() throws Exception {
    Files.writeString(
        dir.resolve("pipeline.json"),
        "{\"api\":{\"url\":\"http://127.0.0.1:4000\",\"key\":\"rf_k\"},\"kafka\":{}}");
    ClientSettings s =
        ClientSettings.resolve(null, null, Map.of(), ClientSettings.descriptionIn(dir));
    assertThat(s.apiUrl().toString()).isEqualTo("http://127.0.0.1:4000/");
    assertThat(s.apiKey()).isEqualTo("rf_k");
  }

  @Test
  void localJsonOfReelflowUpComesFirstAndFlagsAndEnvironmentWin() throws Exception {
    Files.writeString(
        dir.resolve("pipeline.json"), "{\"api\":{\"url\":\"http://p\",\"key\":\"p\"}}");
    Files.createDirectories(dir.resolve(".reelflow"));
    Files.writeString(
        dir.resolve(".reelflow/local.json"), "{\"api\":{\"url\":\"http://l\",\"key\":\"l\"}}");
    assertThat(ClientSettings.descriptionIn(dir)).isEqualTo(dir.resolve(".reelflow/local.json"));
    ClientSettings s =
        ClientSettings.resolve(
            "http://flag",
            null,
            Map.of(ClientSettings.ENV_KEY, "env"),
            ClientSettings.descriptionIn(dir));
    assertThat(s.apiUrl().toString()).isEqualTo("http://flag/");
    assertThat(s.apiKey()).isEqualTo("env");
  }
}
