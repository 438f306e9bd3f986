package dev.reelflow.worker;

import static org.assertj.core.api.Assertions.assertThat;

import dev.reelflow.schemas.avro.OutputArtifact;
import dev.reelflow.schemas.avro.RenderTask;
import dev.reelflow.schemas.avro.StageEvent;
import dev.reelflow.schemas.avro.StageEventType;
import dev.reelflow.schemas.avro.WorkerEvent;
import dev.reelflow.stack.LocalStackExtension;
import dev.reelflow.storage.Manifest;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * The rendering paths of a worker (in-process) on the embedded stack, with the test as
 * orchestrator: the command engine running the fake generate.py (which needs the ffmpeg CLI) to a
 * playable MP4 and manifest, and the native engine (tiny random-init model, and a checkpoint
 * folder) to a preview with latents. Each test starts its own worker. The runtime behaviour
 * (dedupe, adoption, cancel, refusals, dead letters, metrics, drain) is in {@link WorkerRuntimeIT},
 * on the emulated engine.
 */
class WorkerRenderIT {

  @RegisterExtension
  static final LocalStackExtension STACK =
      LocalStackExtension.builder().kafka().registry().s3().build();

  @TempDir static Path dir;

  static OrchestratorDouble orch;
  static final String WORKER = "w-render";
  static final Duration WAIT = Duration.ofSeconds(60);

  @BeforeAll
  static void start() {
    orch = new OrchestratorDouble(STACK.stack());
  }

  @AfterAll
  static void stop() {
    if (orch != null) {
      orch.close();
    }
  }

  static int partitionOf(String workerId) throws InterruptedException {
    WorkerEvent ready = orch.awaitReady(workerId, WAIT);
    return ready.getOwnedPartitions().get(0);
  }

  @Test
  void renderGoesFromTaskToPlayableMp4AndManifestInS3() throws Exception {
    // The fake generate.py writes its video with the ffmpeg CLI (CI installs Debian's ffmpeg).
    Ffprobe.assumeInstalled();
    Map<String, String> cfg = orch.workerConfig(WORKER, "command");
    cfg.put("engine.command.command", CommandEngineTest.template("--step_seconds 0.2"));
    cfg.put(WorkerConfig.WORK_DIR.name(), dir.resolve("work").toString());
    cfg.put(WorkerConfig.METRICS_PORT.name(), "-1");
    try (WorkerProcess worker = WorkerProcess.start(WorkerConfig.of(cfg))) {
      assertThat(worker.awaitReady(WAIT)).isTrue();
      renderToPlayableMp4();
    }
  }

  private void renderToPlayableMp4() throws Exception {
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
  void tinyNativeEngineRendersAPlayablePreviewWithLatents() throws Exception {
    Map<String, String> cfg = orch.workerConfig("w-native", "native");
    cfg.put("engine.native.threads", "2");
    cfg.put(WorkerConfig.WORK_DIR.name(), dir.resolve("work-native").toString());
    cfg.put(WorkerConfig.METRICS_PORT.name(), "-1");
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
  void nativeEngineRendersFromACheckpointFolderAndTheManifestNamesTheVariant() throws Exception {
    Path folder =
        dev.reelflow.engine.testing.SyntheticModelFolder.writeDefault(dir.resolve("hv15"));
    Map<String, String> cfg = orch.workerConfig("w-ckpt", "native");
    cfg.put("engine.native.threads", "2");
    cfg.put(WorkerConfig.MODEL_DIR.name(), folder.toString());
    cfg.put("engine.native.variant-preference", "distilled,base");
    cfg.put(WorkerConfig.WORK_DIR.name(), dir.resolve("work-ckpt").toString());
    cfg.put(WorkerConfig.METRICS_PORT.name(), "-1");
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
}
