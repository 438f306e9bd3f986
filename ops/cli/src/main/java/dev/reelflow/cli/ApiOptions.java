package dev.reelflow.cli;

import java.nio.file.Path;
import picocli.CommandLine.Option;

/** Options every client command shares: where the API is, and how to print. */
final class ApiOptions {
  @Option(
      names = "--api-url",
      description = "API base URL (default: $REELFLOW_API_URL, then the --dir description).")
  String apiUrl;

  @Option(
      names = "--api-key",
      description = "API key (default: $REELFLOW_API_KEY, then the --dir description).")
  String apiKey;

  @Option(names = "--json", description = "Print machine-readable JSON instead of text.")
  boolean json;

  @Option(
      names = "--dir",
      defaultValue = ".",
      description =
          "Directory holding .reelflow/local.json (reelflow up) or pipeline.json"
              + " (ops/cluster/pipeline.sh); default: current directory.")
  Path dir;

  ApiClient client() {
    return new ApiClient(
        ClientSettings.resolve(apiUrl, apiKey, System.getenv(), ClientSettings.descriptionIn(dir)));
  }
}
