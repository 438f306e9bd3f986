package dev.reelflow.worker;

import static org.assertj.core.api.Assertions.assertThat;

import com.sun.net.httpserver.HttpServer;
import dev.reelflow.engine.testing.SyntheticModelFolder;
import dev.reelflow.schemas.avro.ErrorCode;
import dev.reelflow.schemas.avro.Mode;
import dev.reelflow.schemas.avro.RenderTask;
import dev.reelflow.schemas.avro.StageEvent;
import dev.reelflow.schemas.avro.StageEventType;
import dev.reelflow.stack.LocalStackExtension;
import dev.reelflow.storage.ObjectAttributes;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * Image-to-video in the worker on the embedded stack, the test playing the orchestrator: the native
 * engine on a synthetic checkpoint folder with only the 480p I2V variant and a tiny SigLIP renders
 * a task whose first frame is an object of the tenant (PNG) and one whose first frame is fetched
 * over http from a local server (WebP; http and 127.0.0.1 allowed by the documented test override);
 * an image outside the tenant's prefix, a cloud-metadata URL and an object that is no image fail
 * permanently, naming imageUrl.
 */
class ImageToVideoWorkerIT {
  @RegisterExtension
  static final LocalStackExtension STACK =
      LocalStackExtension.builder().kafka().registry().s3().build();

  @TempDir static Path dir;
  static OrchestratorDouble orch;
  static WorkerProcess worker;
  static HttpServer images;
  static final String WORKER = "w-i2v";
  static final Duration WAIT = Duration.ofMinutes(3);

  @BeforeAll
  static void start() throws Exception {
    orch = new OrchestratorDouble(STACK.stack());
    images = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
    byte[] webp = ReferenceImageLoaderTest.fixture("pattern-lossy.webp");
    images.createContext(
        "/cat.webp",
        ex -> {
          try (ex) {
            ex.sendResponseHeaders(200, webp.length);
            try (OutputStream o = ex.getResponseBody()) {
              o.write(webp);
            }
          }
        });
    images.start();
    Path folder =
        SyntheticModelFolder.builder()
            .variants(List.of("480p_i2v"))
            .build()
            .write(dir.resolve("hv15"));
    Map<String, String> cfg = orch.workerConfig(WORKER, "native");
    cfg.put("engine.native.threads", "2");
    cfg.put(WorkerConfig.MODEL_DIR.name(), folder.toString());
    cfg.put(WorkerConfig.WORK_DIR.name(), dir.resolve("work").toString());
    cfg.put(WorkerConfig.METRICS_PORT.name(), "-1");
    cfg.put(WorkerConfig.IMAGE_FETCH_ALLOW_HTTP.name(), "true");
    cfg.put(WorkerConfig.IMAGE_FETCH_ALLOW_HOSTS.name(), "127.0.0.1");
    worker = WorkerProcess.start(WorkerConfig.of(cfg));
    assertThat(worker.awaitReady(Duration.ofSeconds(60))).isTrue();
  }

  @AfterAll
  static void stop() {
    if (worker != null) {
      worker.close();
    }
    if (images != null) {
      images.stop(0);
    }
    if (orch != null) {
      orch.close();
    }
  }

  static RenderTask i2v(String requestId, String imageUrl) {
    RenderTask t = OrchestratorDouble.task(requestId, 1, 5, 2, false, 60_000);
    t.getParams().setMode(Mode.I2V);
    t.getParams().setImageUrl(imageUrl);
    return t;
  }

  static int partition() throws InterruptedException {
    return orch.awaitReady(WORKER, Duration.ofSeconds(60)).getOwnedPartitions().get(0);
  }

  static String s3(String key) {
    return "s3://" + STACK.stack().bucket() + "/" + key;
  }

  @Test
  void rendersFromAStoredObjectAndFromAFetchedUrl() throws Exception {
    orch.store.put(
        "demo/uploads/first.png",
        ReferenceImageLoaderTest.fixture("pattern.png"),
        ObjectAttributes.ofType("image/png"));
    RenderTask stored = i2v("r-i2v-s3", s3("demo/uploads/first.png"));
    orch.dispatch(stored, partition());
    StageEvent done = orch.await(stored.getTaskId(), StageEventType.COMPLETED, WAIT);
    assertThat(done.getFacts())
        .containsEntry("checkpointVariant", "480p_i2v")
        .containsEntry("mode", "i2v")
        .containsEntry("referenceImage", s3("demo/uploads/first.png"))
        .containsEntry("referenceImageSize", "40x30");
    assertThat(done.getFacts().get("visionEncoder")).startsWith("siglip@sha256:");
    assertThat(done.getFacts().get("weightsId"))
        .startsWith("dit=480p_i2v@sha256:")
        .contains(";vision=siglip@sha256:");

    String url = "http://127.0.0.1:" + images.getAddress().getPort() + "/cat.webp";
    RenderTask fetched = i2v("r-i2v-url", url);
    orch.dispatch(fetched, partition());
    StageEvent done2 = orch.await(fetched.getTaskId(), StageEventType.COMPLETED, WAIT);
    assertThat(done2.getFacts()).containsEntry("referenceImage", url).containsEntry("mode", "i2v");
  }

  private static void assertRefused(RenderTask t, String message) throws Exception {
    orch.dispatch(t, partition());
    StageEvent f = orch.await(t.getTaskId(), StageEventType.FAILED, WAIT);
    assertThat(f.getError().getCode()).isEqualTo(ErrorCode.BAD_PARAMETERS);
    assertThat(f.getError().getRetryable()).isFalse();
    assertThat(f.getError().getMessage()).startsWith("imageUrl: ").contains(message);
  }

  @Test
  void unusableImagesFailTheRenderPermanentlyNamingImageUrl() throws Exception {
    orch.store.put(
        "demo/uploads/notes.png", "not an image".getBytes(), ObjectAttributes.ofType("image/png"));
    assertRefused(i2v("r-i2v-text", s3("demo/uploads/notes.png")), "not a PNG, JPEG or WebP");
    assertRefused(i2v("r-i2v-other", s3("globex/uploads/first.png")), "tenant's prefix demo/");
    assertRefused(i2v("r-i2v-absent", s3("demo/uploads/absent.png")), "there is no object");
    assertRefused(i2v("r-i2v-meta", "https://169.254.169.254/latest/meta-data/"), "cloud metadata");
    assertRefused(i2v("r-i2v-inline", "data:image/png;base64,iVBORw0KGgo="), "inline data: URI");
  }
}
