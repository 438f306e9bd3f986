package dev.reelflow.ingest;

import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.CountDownLatch;

/**
 * Runs one ingest server until SIGTERM or Ctrl-C. Configuration: the properties file named by the
 * first argument or {@code REELFLOW_INGEST_CONFIG} (optional), then {@code REELFLOW_*} environment
 * overrides ({@link IngestConfig}). Without any API keys configured it uses (and creates once) the
 * local default tenant in {@code .reelflow/tenant/} ({@link LocalTenant}), the same one {@code
 * reelflow up} uses; {@code .reelflow/local.json} itself is the CLI's connection file.
 */
public final class IngestMain {
  private IngestMain() {}

  public static void main(String[] args) throws Exception {
    Map<String, String> env = System.getenv();
    String file = args.length > 0 ? args[0] : env.get("REELFLOW_INGEST_CONFIG");
    IngestConfig config = IngestConfig.load(file == null ? null : Path.of(file), env);
    if (config.get(IngestConfig.API_KEYS_FILE).isBlank()
        && config.get(IngestConfig.API_KEYS).isBlank()) {
      LocalTenant local = LocalTenant.ensure(Path.of(".reelflow", "tenant"));
      System.out.println(
          "No API keys configured: using the local tenant '"
              + local.tenant()
              + "' (key in .reelflow/tenant/local.json)");
      config = config.with(IngestConfig.API_KEYS_FILE, local.apiKeysFile().toString());
    }
    IngestServer server = IngestServer.builder(config).build().start();
    CountDownLatch stopped = new CountDownLatch(1);
    Runtime.getRuntime()
        .addShutdownHook(
            new Thread(
                () -> {
                  server.close();
                  stopped.countDown();
                },
                "reelflow-ingest-shutdown"));
    System.out.println("ingest listening on " + server.baseUrl());
    stopped.await();
  }
}
