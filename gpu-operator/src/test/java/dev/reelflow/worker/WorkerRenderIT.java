package dev.reelflow.worker;

import static org.assertj.core.api.Assertions.assertThat;

import dev.reelflow.schemas.avro.ErrorCode;
import dev.reelflow.schemas.avro.OutputArtifact;
import dev.reelflow.schemas.avro.RenderTask;
import dev.reelflow.schemas.avro.StageEvent;
import dev.reelflow.schemas.avro.StageEventType;
import dev.reelflow.schemas.avro.WorkerEvent;
import dev.reelflow.schemas.avro.WorkerEventType;
import dev.reelflow.stack.LocalStackExtension;
import dev.reelflow.storage.Manifest;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * A worker (in-process, command engine running the fake generate.py) on the embedded stack, with
 * the test as orchestrator: render to a playable MP4 and manifest, cancel mid-render, duplicate
 * delivery, refusals.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class WorkerRenderIT {

  @RegisterExtension
  static final LocalStackExtension STACK =
      LocalStackExtension.builder().kafka().registry().s3().build();

  @TempDir static Path dir;

  static OrchestratorDouble orch;
  static WorkerProcess worker;
  static final String WORKER = "w-render";
  static final Duration WAIT = Duration.ofSeconds(60);

  @BeforeAll
  static void start() throws Exception {
    // The fake generate.py writes its video with the ffmpeg CLI (CI installs Debian's ffmpeg).
    Ffprobe.assumeInstalled();
    orch = new OrchestratorDouble(STACK.stack());
    Map<String, String> cfg = orch.workerConfig(WORKER, "command");
    cfg.put("engine.command.command", CommandEngineTest.template("--step_seconds 0.2"));
    cfg.put(WorkerConfig.WORK_DIR, dir.resolve("work").toString());
    worker = WorkerProcess.start(WorkerConfig.of(cfg));
    assertThat(worker.awaitReady(WAIT)).isTrue();
  }

  @AfterAll
  static void stop() {
    if (worker != null) {
      worker.close();
    }
    if (orch != null) {
      orch.close();
    }
  }

  static int partitionOf(String workerId) throws InterruptedException {
    WorkerEvent ready = orch.awaitReady(workerId, WAIT);
    return ready.getOwnedPartitions().get(0);
  }

  @Test
  @Order(1)
  void renderGoesFromTaskToPlayableMp4AndManifestInS3() throws Exception {
    Ffprobe.assumeInstalled();
    RenderTask task = OrchestratorDouble.task("r-render", 1, 17, 4, true, 30_000);
    orch.dispatch(task, partitionOf(WORKER));

    StageEvent done = orch.await(task.getTaskId(), StageEventType.COMPLETED, WAIT);
    List<StageEvent> events = orch.events(task.getTaskId());
    assertThat(events.get(0).getType()).isEqualTo(StageEventType.STARTED);
    List<String> progress =
        events.stream()
            .filter(e -> e.getType() == StageEventType.PROGRESS && "denoise".equals(e.getMessage()))
            .map(e -> e.getStep() + "/" + e.getTotalSteps())
            .toList();
    assertThat(progress).containsExactly("1/4", "2/4", "3/4", "4/4");
    assertThat(events)
        .anyMatch(e -> e.getType() == StageEventType.PROGRESS && e.getEtaMillis() != null);
    assertThat(events).anyMatch(e -> e.getType() == StageEventType.HEARTBEAT);
    assertThat(done.getWorkerId()).isEqualTo(WORKER);
    assertThat(done.getFacts())
        .containsEntry("engine", "command")
        .containsEntry("emulated", "false")
        .containsEntry("frames", "17")
        .containsEntry("width", "256")
        .containsEntry("height", "144");

    Map<String, OutputArtifact> out =
        done.getOutputs().stream().collect(Collectors.toMap(OutputArtifact::getName, o -> o));
    assertThat(out).containsKeys("preview", "video", "poster", "manifest");
    for (OutputArtifact o : out.values()) {
      assertThat(o.getSha256()).hasSize(64);
      assertThat(orch.store.stat(o.getKey()).sizeBytes()).isEqualTo(o.getSizeBytes());
    }
    assertThat(out.get("preview").getKey()).startsWith(task.getOutputPrefix());
    assertThat(out.get("video").getKey()).isEqualTo(task.getFinalPrefix() + "video.mp4");

    Path video = dir.resolve("video.mp4");
    orch.store.download(out.get("video").getKey(), video, true);
    Map<String, String> s = Ffprobe.videoStream(video);
    assertThat(s)
        .containsEntry("codec_name", "h264")
        .containsEntry("width", "256")
        .containsEntry("height", "144")
        .containsEntry("pix_fmt", "yuv420p")
        .containsEntry("nb_read_frames", "17")
        .containsEntry("r_frame_rate", "24/1");
    assertThat(Ffprobe.moovBeforeMdat(video)).isTrue();

    Manifest finalManifest =
        Manifest.fromJson(orch.store.getBytes(task.getFinalPrefix() + "manifest.json", true));
    assertThat(finalManifest.requestId()).isEqualTo("r-render");
    assertThat(finalManifest.engine()).isEqualTo("command");
    assertThat(finalManifest.emulated()).isFalse();
    assertThat(finalManifest.frames()).isEqualTo(17);
    assertThat(finalManifest.stages())
        .singleElement()
        .satisfies(st -> assertThat(st.workerId()).isEqualTo(WORKER));
    assertThat(orch.store.find(task.getOutputPrefix() + "manifest.json")).isPresent();

    // Slot freed: a READY with a free slot follows the completion.
    orch.awaitWorker(
        e ->
            e.getWorkerId().equals(WORKER)
                && e.getType().name().equals("READY")
                && e.getAt().isAfter(done.getAt().minusMillis(1))
                && e.getFreeSlots() == 1,
        WAIT);
  }

  @Test
  @Order(2)
  void duplicateDeliveryOfACompletedTaskIsSkipped() throws Exception {
    RenderTask task = OrchestratorDouble.task("r-render", 1, 17, 4, true, 30_000);
    int partition = partitionOf(WORKER);
    orch.dispatch(task, partition);
    RenderTask next = OrchestratorDouble.task("r-after-dup", 1, 17, 2, false, 30_000);
    orch.dispatch(next, partition);

    orch.await(next.getTaskId(), StageEventType.COMPLETED, WAIT);
    assertThat(
            orch.events(task.getTaskId()).stream()
                .filter(e -> e.getType() == StageEventType.STARTED))
        .as("the duplicate was not started again")
        .hasSize(1);
    assertThat(
            orch.events(task.getTaskId()).stream()
                .filter(e -> e.getType() == StageEventType.COMPLETED))
        .hasSize(1);
  }

  @Test
  @Order(2)
  void aLaterAttemptAdoptsTheCompleteFinalResultAnEarlierAttemptPublished() throws Exception {
    // Attempt 1 publishes the write-once final keys; as if it died before its COMPLETED counted,
    // attempt 2 of the same render runs, finds them complete and completes with them.
    int partition = partitionOf(WORKER);
    RenderTask first = OrchestratorDouble.task("r-adopt", 1, 17, 2, true, 30_000);
    orch.dispatch(first, partition);
    StageEvent done1 = orch.await(first.getTaskId(), StageEventType.COMPLETED, WAIT);
    RenderTask second = OrchestratorDouble.task("r-adopt", 2, 17, 2, true, 30_000);
    orch.dispatch(second, partition);
    StageEvent done2 = orch.await(second.getTaskId(), StageEventType.COMPLETED, WAIT);
    assertThat(done1.getFacts()).doesNotContainKey("adoptedPublication");
    assertThat(done2.getFacts()).containsEntry("adoptedPublication", "true");
    java.util.function.Function<StageEvent, List<String>> finals =
        e ->
            e.getOutputs().stream()
                .filter(o -> o.getKey().startsWith(first.getFinalPrefix()))
                .map(o -> o.getName() + " " + o.getKey() + " " + o.getSha256())
                .sorted()
                .toList();
    assertThat(finals.apply(done2))
        .as("the adopted outputs are attempt 1's final video, poster and manifest")
        .hasSize(3)
        .isEqualTo(finals.apply(done1));
  }

  @Test
  @Order(3)
  void cancellationMidRenderStopsWithinOneStep() throws Exception {
    RenderTask task = OrchestratorDouble.task("r-cancel", 1, 17, 40, false, 30_000);
    orch.dispatch(task, partitionOf(WORKER));
    StageEvent second =
        orch.await(
            e ->
                e.getTaskId().equals(task.getTaskId())
                    && e.getType() == StageEventType.PROGRESS
                    && e.getStep() != null
                    && e.getStep() >= 2,
            WAIT);
    long sent = System.currentTimeMillis();
    orch.cancel("r-cancel");

    StageEvent failed = orch.await(task.getTaskId(), StageEventType.FAILED, WAIT);
    assertThat(failed.getError().getCode()).isEqualTo(ErrorCode.CANCELLED);
    assertThat(failed.getError().getRetryable()).isFalse();
    int lastStep =
        orch.events(task.getTaskId()).stream()
            .filter(e -> e.getType() == StageEventType.PROGRESS && e.getStep() != null)
            .mapToInt(StageEvent::getStep)
            .max()
            .orElseThrow();
    // Steps take 200 ms; the bound adds Kafka delivery of the command on a loaded 2-core CI box.
    // The exact "stops at the next step" property is asserted in CommandEngineTest.
    assertThat(failed.getAt().toEpochMilli() - sent).isLessThan(2_500);
    assertThat(lastStep).isLessThan(second.getStep() + 8).isLessThan(40);
    assertThat(orch.store.list(task.getOutputPrefix())).isEmpty();
  }

  @Test
  @Order(4)
  void badParametersAndWhatCannotFitAreRefusedPermanently() throws Exception {
    int partition = partitionOf(WORKER);
    RenderTask badFrames = OrchestratorDouble.task("r-bad", 1, 18, 2, false, 30_000);
    orch.dispatch(badFrames, partition);
    StageEvent f1 = orch.await(badFrames.getTaskId(), StageEventType.FAILED, WAIT);
    assertThat(f1.getError().getCode()).isEqualTo(ErrorCode.BAD_PARAMETERS);
    assertThat(f1.getError().getRetryable()).isFalse();
    assertThat(f1.getError().getMessage()).contains("4k+1");

    RenderTask huge = OrchestratorDouble.task("r-huge", 1, 241, 2, false, 30_000);
    huge.getParams().setResolution(dev.reelflow.schemas.avro.Resolution.P720);
    orch.dispatch(huge, partitionOf(WORKER));
    StageEvent f2 = orch.await(huge.getTaskId(), StageEventType.FAILED, WAIT);
    assertThat(f2.getError().getCode()).isEqualTo(ErrorCode.BAD_PARAMETERS);
    assertThat(f2.getError().getMessage()).contains("device memory", "GiB");
    assertThat(orch.events(huge.getTaskId()))
        .noneMatch(e -> e.getType() == StageEventType.PROGRESS);
  }

  @Test
  @Order(4)
  void unreadableTaskRecordGoesToTheDeadLetterTopicAndTheWorkerGoesOn() throws Exception {
    int partition = partitionOf(WORKER);
    orch.dispatchRaw(
        "r-garbage", "not avro".getBytes(java.nio.charset.StandardCharsets.UTF_8), partition);
    RenderTask next = OrchestratorDouble.task("r-after-garbage", 1, 17, 2, false, 30_000);
    orch.dispatch(next, partition);

    dev.reelflow.schemas.avro.DeadLetter dl = orch.awaitDeadLetter("r-garbage", WAIT);
    assertThat(dl.getSourceTopic()).isEqualTo("render.tasks.base");
    assertThat(dl.getPartition()).isEqualTo(partition);
    assertThat(dl.getComponent()).isEqualTo("worker");
    assertThat(dl.getValue().remaining()).isEqualTo(8);
    assertThat(dl.getReason()).isNotBlank();
    orch.await(next.getTaskId(), StageEventType.COMPLETED, WAIT);
  }

  @Test
  @Order(5)
  void metricsAndHealthzAreServed() throws Exception {
    HttpClient http = HttpClient.newHttpClient();
    String base = "http://localhost:" + worker.metricsPort();
    HttpResponse<String> health =
        http.send(
            HttpRequest.newBuilder(URI.create(base + "/healthz")).build(),
            HttpResponse.BodyHandlers.ofString());
    assertThat(health.statusCode()).isEqualTo(200);
    assertThat(health.body()).contains("\"status\":\"UP\"", WORKER);
    HttpResponse<String> metrics =
        http.send(
            HttpRequest.newBuilder(URI.create(base + "/metrics")).build(),
            HttpResponse.BodyHandlers.ofString());
    assertThat(metrics.body())
        .contains("reelflow_worker_tasks_total{outcome=\"completed\",pool=\"BASE\"}")
        .contains("reelflow_worker_tasks_total{outcome=\"cancelled\",pool=\"BASE\"} 1.0")
        .contains("reelflow_worker_step_seconds_bucket")
        .contains("reelflow_worker_busy_fraction{pool=\"BASE\",worker=\"" + WORKER + "\"}");
  }

  @Test
  @Order(6)
  void tinyNativeEngineRendersAPlayablePreviewWithLatents() throws Exception {
    Map<String, String> cfg = orch.workerConfig("w-native", "native");
    cfg.put("engine.native.threads", "2");
    cfg.put(WorkerConfig.WORK_DIR, dir.resolve("work-native").toString());
    cfg.put(WorkerConfig.METRICS_PORT, "-1");
    try (WorkerProcess nativeWorker = WorkerProcess.start(WorkerConfig.of(cfg))) {
      assertThat(nativeWorker.awaitReady(WAIT)).isTrue();
      RenderTask task = OrchestratorDouble.task("r-native", 1, 5, 2, false, 30_000);
      orch.dispatch(task, partitionOf("w-native"));

      StageEvent done =
          orch.await(task.getTaskId(), StageEventType.COMPLETED, Duration.ofMinutes(3));
      assertThat(done.getFacts())
          .containsEntry("engine", "native")
          .containsEntry("modelId", "hunyuanvideo-1.5-tiny")
          .containsEntry("weightsId", "random-init")
          .containsEntry("latents", "safetensors");
      Map<String, OutputArtifact> out =
          done.getOutputs().stream().collect(Collectors.toMap(OutputArtifact::getName, o -> o));
      assertThat(out).containsKeys("latents", "preview", "manifest");
      dev.reelflow.worker.spi.Latents latents =
          LatentsFile.read(orch.store.getBytes(out.get("latents").getKey(), true));
      assertThat(latents.shape()).containsExactly(32, 2, 9, 16);
      Path preview = dir.resolve("native.mp4");
      orch.store.download(out.get("preview").getKey(), preview, true);
      VideoCodec.Decoded d = VideoCodec.decode(preview);
      assertThat(d.frames().count()).isEqualTo(5);
      assertThat(d.frames().width()).isEqualTo(256);
      assertThat(d.frames().height()).isEqualTo(144);
      Manifest m = Manifest.fromJson(orch.store.getBytes(out.get("manifest").getKey(), true));
      assertThat(m.weightsId()).isEqualTo("random-init");
      assertThat(m.engine()).isEqualTo("native");
    }
  }

  @Test
  @Order(6)
  void nativeEngineRendersFromACheckpointFolderAndTheManifestNamesTheVariant() throws Exception {
    Path folder =
        dev.reelflow.engine.testing.SyntheticModelFolder.writeDefault(dir.resolve("hv15"));
    Map<String, String> cfg = orch.workerConfig("w-ckpt", "native");
    cfg.put("engine.native.threads", "2");
    cfg.put(WorkerConfig.MODEL_DIR, folder.toString());
    cfg.put("engine.native.variant-preference", "distilled,base");
    cfg.put(WorkerConfig.WORK_DIR, dir.resolve("work-ckpt").toString());
    cfg.put(WorkerConfig.METRICS_PORT, "-1");
    try (WorkerProcess ckptWorker = WorkerProcess.start(WorkerConfig.of(cfg))) {
      assertThat(ckptWorker.awaitReady(WAIT)).isTrue();
      RenderTask task = OrchestratorDouble.task("r-ckpt", 1, 5, 2, false, 30_000);
      orch.dispatch(task, partitionOf("w-ckpt"));
      StageEvent done =
          orch.await(task.getTaskId(), StageEventType.COMPLETED, Duration.ofMinutes(3));
      assertThat(done.getFacts())
          .containsEntry("engine", "native")
          .containsEntry("modelId", "hunyuanvideo-1.5-480p_t2v_distilled")
          .containsEntry("checkpointVariant", "480p_t2v_distilled")
          .containsEntry("guidance", "1.0");
      assertThat(done.getFacts().get("weightsId")).startsWith("dit=480p_t2v_distilled@sha256:");
      Map<String, OutputArtifact> out =
          done.getOutputs().stream().collect(Collectors.toMap(OutputArtifact::getName, o -> o));
      Manifest m = Manifest.fromJson(orch.store.getBytes(out.get("manifest").getKey(), true));
      assertThat(m.weightsId()).isEqualTo(done.getFacts().get("weightsId"));
      assertThat(m.modelId()).isEqualTo("hunyuanvideo-1.5-480p_t2v_distilled");
    }
  }

  @Test
  @Order(7)
  void drainFinishesATaskThatFitsTheGracePeriodThenStops() throws Exception {
    // Same path as SIGTERM in WorkerMain (its shutdown hook calls drain()); the hand-back case
    // runs against a separate JVM in WorkerFaultIT.
    RenderTask task = OrchestratorDouble.task("r-finish", 1, 17, 5, false, 30_000);
    orch.dispatch(task, partitionOf(WORKER));
    orch.await(
        e -> e.getTaskId().equals(task.getTaskId()) && e.getType() == StageEventType.PROGRESS,
        WAIT);
    Thread drainer = new Thread(worker::drain, "test-drain");
    drainer.start();

    StageEvent done = orch.await(task.getTaskId(), StageEventType.COMPLETED, WAIT);
    WorkerEvent draining =
        orch.awaitWorker(
            e -> e.getWorkerId().equals(WORKER) && e.getType() == WorkerEventType.DRAINING, WAIT);
    WorkerEvent stopped =
        orch.awaitWorker(
            e -> e.getWorkerId().equals(WORKER) && e.getType() == WorkerEventType.STOPPED, WAIT);
    assertThat(draining.getFreeSlots()).isZero();
    assertThat(draining.getAt()).isBeforeOrEqualTo(done.getAt());
    assertThat(stopped.getAt()).isAfterOrEqualTo(done.getAt());
    assertThat(orch.events(task.getTaskId())).noneMatch(e -> e.getType() == StageEventType.FAILED);
    drainer.join(30_000);
    assertThat(worker.healthy()).isFalse();
  }
}
