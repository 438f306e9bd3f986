package dev.reelflow.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.reelflow.config.ConfigSpec;
import dev.reelflow.config.ConfigValues;
import dev.reelflow.config.Setting;
import java.io.IOException;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

/**
 * Where the HTTP API is and which key to use. Resolved in this order: command-line flags,
 * environment ({@code REELFLOW_API_URL}, {@code REELFLOW_API_KEY}), then the description of a
 * running pipeline: {@code .reelflow/local.json} written by {@code reelflow up}, or {@code
 * pipeline.json} written by {@code ops/cluster/pipeline.sh} (same shape: {@code api.url}, {@code
 * api.key}).
 */
record ClientSettings(URI apiUrl, String apiKey) {

  static final Setting<String> API_URL =
      Setting.string("api.url")
          .doc(
              "Base URL of the HTTP API for the client commands (submit, status, watch, ...);"
                  + " `--api-url` wins, else the running pipeline's description in `--dir`.")
          .build();
  static final Setting<String> API_KEY =
      Setting.string("api.key")
          .secret()
          .doc(
              "API key of the client commands; `--api-key` wins, else the running pipeline's"
                  + " description in `--dir`.")
          .build();

  /** The client commands' settings: environment only (flags win). */
  static final ConfigSpec SPEC = ConfigSpec.builder("client").add(API_URL, API_KEY).build();

  static final String ENV_URL = API_URL.envName();
  static final String ENV_KEY = API_KEY.envName();

  /**
   * The pipeline description in {@code dir}: {@code .reelflow/local.json} when it exists, else
   * {@code pipeline.json} when that exists (a directory of ops/cluster/pipeline.sh), else the
   * former (absent: the error then names {@code reelflow up}).
   */
  static Path descriptionIn(Path dir) {
    Path local = dir.resolve(".reelflow").resolve("local.json");
    Path pipeline = dir.resolve("pipeline.json");
    return !Files.isRegularFile(local) && Files.isRegularFile(pipeline) ? pipeline : local;
  }

  static ClientSettings resolve(
      String flagUrl, String flagKey, Map<String, String> env, Path localJson) {
    ConfigValues fromEnv = SPEC.load(null, env, Map.of());
    String url = firstNonBlank(flagUrl, fromEnv.get(API_URL));
    String key = firstNonBlank(flagKey, fromEnv.get(API_KEY));
    if ((url == null || key == null) && Files.isRegularFile(localJson)) {
      try {
        JsonNode root = new ObjectMapper().readTree(localJson.toFile());
        JsonNode api = root.path("api");
        url = firstNonBlank(url, api.path("url").asText(null));
        key = firstNonBlank(key, api.path("key").asText(null));
      } catch (IOException e) {
        throw new CliException(
            ExitCode.USAGE, "cannot read " + localJson + ": " + e.getMessage(), e);
      }
    }
    if (url == null) {
      throw new CliException(
          ExitCode.USAGE,
          "no API address: start the local pipeline with `reelflow up` (or point --dir at an"
              + " ops/cluster pipeline directory), or pass --api-url or set "
              + ENV_URL);
    }
    if (key == null) {
      throw new CliException(
          ExitCode.USAGE, "no API key: pass --api-key or set " + ENV_KEY + " (see `reelflow up`)");
    }
    return new ClientSettings(URI.create(url.endsWith("/") ? url : url + "/"), key);
  }

  private static String firstNonBlank(String a, String b) {
    if (a != null && !a.isBlank()) {
      return a;
    }
    return b != null && !b.isBlank() ? b : null;
  }
}
