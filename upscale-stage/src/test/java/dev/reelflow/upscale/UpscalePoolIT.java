package dev.reelflow.upscale;

import static org.assertj.core.api.Assertions.assertThat;

import dev.reelflow.schemas.Topic;
import dev.reelflow.schemas.TopicProvisioner;
import dev.reelflow.schemas.Topics;
import dev.reelflow.schemas.avro.AspectRatio;
import dev.reelflow.schemas.avro.RenderParams;
import dev.reelflow.schemas.avro.RenderTask;
import dev.reelflow.schemas.avro.Resolution;
import dev.reelflow.schemas.avro.Stage;
import dev.reelflow.schemas.avro.StageEvent;
import dev.reelflow.schemas.avro.StageEventType;
import dev.reelflow.schemas.avro.UpscaleTarget;
import dev.reelflow.schemas.avro.WorkerEvent;
import dev.reelflow.schemas.avro.WorkerEventType;
import dev.reelflow.schemas.registry.SchemaRegistryClient;
import dev.reelflow.schemas.serde.AvroRecordDeserializer;
import dev.reelflow.schemas.serde.AvroRecordSerializer;
import dev.reelflow.stack.LocalStack;
import dev.reelflow.stack.LocalStackExtension;
import dev.reelflow.stack.RequiredTools;
import dev.reelflow.storage.ArtifactKeys;
import dev.reelflow.storage.ArtifactStore;
import dev.reelflow.storage.Manifest;
import dev.reelflow.storage.ObjectAttributes;
import dev.reelflow.worker.WorkerConfig;
import dev.reelflow.worker.WorkerProcess;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.apache.avro.specific.SpecificRecord;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * The upscale pool end to end on the embedded stack, the test playing the orchestrator: a base
 * preview MP4 in S3 → an UPSCALE task on render.tasks.upscale → the esrgan worker publishes a
 * 1920x1080 MP4 with the same frame count, a poster and the manifest under final/.
 */
class UpscalePoolIT {
  @RegisterExtension
  static final LocalStackExtension STACK =
      LocalStackExtension.builder().kafka().registry().s3().build();

  private static final Duration WAIT = Duration.ofSeconds(150);
  private static final int FRAMES = 3;

  @TempDir Path dir;

  @Test
  void basePreviewInS3BecomesA1080pMp4() throws Exception {
    RequiredTools.assume(
        "ffmpeg",
        installed("ffmpeg") && installed("ffprobe"),
        "ffmpeg/ffprobe not installed (apt-get install -y ffmpeg)");
    LocalStack stack = STACK.stack();
    TopicProvisioner.builder()
        .bootstrapServers(stack.bootstrapServers())
        .topics(Topics.builder().partitions(Topic.TASKS_UPSCALE, 2).build())
        .build()
        .provision();
    SchemaRegistryClient registry = SchemaRegistryClient.create(stack.schemaRegistryUrl());

    // the base attempt's preview: a 256x144 (preview tier, 16:9) H.264 clip
    Instant created = Instant.parse("2026-11-25T10:00:00Z");
    String requestId = "r-up";
    Path preview = dir.resolve("preview.mp4");
    run(
        List.of(
            "ffmpeg",
            "-v",
            "error",
            "-f",
            "lavfi",
            "-i",
            "testsrc2=size=256x144:rate=24",
            "-frames:v",
            Integer.toString(FRAMES),
            "-pix_fmt",
            "yuv420p",
            "-c:v",
            "libx264",
            preview.toString()));
    String previewKey =
        ArtifactKeys.stageArtifact("demo", created, requestId, Stage.BASE, 1, "preview.mp4");
    try (ArtifactStore store =
            ArtifactStore.builder()
                .endpoint(stack.s3Endpoint())
                .credentials(stack.s3AccessKey(), stack.s3SecretKey())
                .bucket(stack.bucket())
                .region(stack.s3Region())
                .build();
        Events events = new Events(stack, registry)) {
      store.put(previewKey, preview, ObjectAttributes.ofType("video/mp4"));

      Map<String, String> cfg = new HashMap<>();
      cfg.put(WorkerConfig.POOL.name(), "upscale");
      cfg.put(WorkerConfig.WORKER_ID.name(), "w-up");
      cfg.put(WorkerConfig.ENGINE.name(), "esrgan");
      cfg.put("engine.esrgan.threads", "2");
      cfg.put(WorkerConfig.BOOTSTRAP_SERVERS.name(), stack.bootstrapServers());
      cfg.put(WorkerConfig.SCHEMA_REGISTRY_URL.name(), stack.schemaRegistryUrl());
      cfg.put(WorkerConfig.S3_ENDPOINT.name(), stack.s3Endpoint());
      cfg.put(WorkerConfig.S3_ACCESS_KEY.name(), stack.s3AccessKey());
      cfg.put(WorkerConfig.S3_SECRET_KEY.name(), stack.s3SecretKey());
      cfg.put(WorkerConfig.S3_BUCKET.name(), stack.bucket());
      cfg.put(WorkerConfig.S3_REGION.name(), stack.s3Region());
      cfg.put(WorkerConfig.HEARTBEAT_INTERVAL.name(), "500ms");
      cfg.put(WorkerConfig.METRICS_PORT.name(), "0");
      cfg.put(WorkerConfig.DEVICE_NAME.name(), "cpu");
      cfg.put(WorkerConfig.WORK_DIR.name(), dir.resolve("work").toString());
      cfg.put("kafka.session.timeout.ms", "10000");
      cfg.put("kafka.heartbeat.interval.ms", "1000");
      try (WorkerProcess worker = WorkerProcess.start(WorkerConfig.of(cfg))) {
        assertThat(worker.awaitReady(WAIT)).isTrue();
        WorkerEvent ready = events.awaitReady(WAIT);
        int partition = ready.getOwnedPartitions().get(0);

        RenderTask task =
            RenderTask.newBuilder()
                .setTaskId(requestId + ":UPSCALE:1")
                .setRequestId(requestId)
                .setTenant("demo")
                .setStage(Stage.UPSCALE)
                .setAttempt(1)
                .setParams(
                    RenderParams.newBuilder()
                        .setPrompt("a paper boat drifting down a rainy street")
                        .setResolution(Resolution.PREVIEW)
                        .setAspectRatio(AspectRatio.AR_16_9)
                        .setFrames(FRAMES)
                        .setFps(24)
                        .setSteps(4)
                        .setSeed(42)
                        .setUpscale(UpscaleTarget.P1080)
                        .build())
                .setInputs(Map.of("preview", previewKey))
                .setOutputPrefix(
                    ArtifactKeys.stagePrefix("demo", created, requestId, Stage.UPSCALE, 1))
                .setFinalPrefix(ArtifactKeys.finalPrefix("demo", created, requestId))
                .setPublishFinal(true)
                .setLeaseMillis(60_000)
                .setCreatedAt(created)
                .setDispatchedAt(Instant.now())
                .build();
        events
            .producer
            .send(new ProducerRecord<>(Topics.TASKS_UPSCALE, partition, requestId, task))
            .get();

        StageEvent done = events.awaitStage(task.getTaskId(), WAIT);
        assertThat(done.getType()).as("final event %s", done).isEqualTo(StageEventType.COMPLETED);
        List<String> progress =
            events.stages.stream()
                .filter(
                    e -> e.getType() == StageEventType.PROGRESS && "upscale".equals(e.getMessage()))
                .map(e -> e.getStep() + "/" + e.getTotalSteps())
                .toList();
        assertThat(progress).contains("1/" + FRAMES, FRAMES + "/" + FRAMES);
        assertThat(done.getFacts())
            .containsEntry("engine", "esrgan")
            .containsEntry("emulated", "false")
            .containsEntry("networkScale", "x8");

        Path video = dir.resolve("video.mp4");
        store.download(ArtifactKeys.finalVideo("demo", created, requestId), video, true);
        String probe =
            run(
                List.of(
                    "ffprobe",
                    "-v",
                    "error",
                    "-count_frames",
                    "-select_streams",
                    "v:0",
                    "-show_entries",
                    "stream=codec_name,width,height,pix_fmt,nb_read_frames",
                    "-of",
                    "default=noprint_wrappers=1",
                    video.toString()));
        assertThat(probe)
            .contains(
                "codec_name=h264",
                "width=1920",
                "height=1080",
                "pix_fmt=yuv420p",
                "nb_read_frames=" + FRAMES);
        assertThat(store.find(ArtifactKeys.finalPoster("demo", created, requestId))).isPresent();
        Manifest m =
            Manifest.fromJson(
                store.getBytes(ArtifactKeys.finalManifest("demo", created, requestId), true));
        assertThat(m.requestId()).isEqualTo(requestId);
      }
    }
  }

  private static boolean installed(String tool) {
    try {
      Process p = new ProcessBuilder(tool, "-version").redirectErrorStream(true).start();
      p.getInputStream().readAllBytes();
      return p.waitFor(10, TimeUnit.SECONDS) && p.exitValue() == 0;
    } catch (IOException | InterruptedException e) {
      return false;
    }
  }

  private static String run(List<String> cmd) throws IOException, InterruptedException {
    Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    if (!p.waitFor(120, TimeUnit.SECONDS) || p.exitValue() != 0) {
      throw new IOException(cmd.get(0) + " failed: " + out);
    }
    return out;
  }

  /** Producer for tasks, and a reader of stage and worker events. */
  private static final class Events implements AutoCloseable {
    final KafkaProducer<String, SpecificRecord> producer;
    final List<StageEvent> stages = new CopyOnWriteArrayList<>();
    final List<WorkerEvent> workers = new CopyOnWriteArrayList<>();
    private final KafkaConsumer<String, byte[]> consumer;
    private final Thread reader;
    private volatile boolean closed;

    Events(LocalStack stack, SchemaRegistryClient registry) {
      Map<String, Object> p = new HashMap<>();
      p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, stack.bootstrapServers());
      p.put(ProducerConfig.ACKS_CONFIG, "all");
      producer =
          new KafkaProducer<>(
              p,
              new StringSerializer(),
              AvroRecordSerializer.<SpecificRecord>builder().client(registry).build());
      AvroRecordDeserializer<StageEvent> stageReader =
          AvroRecordDeserializer.builder(StageEvent.class).client(registry).build();
      AvroRecordDeserializer<WorkerEvent> workerReader =
          AvroRecordDeserializer.builder(WorkerEvent.class).client(registry).build();
      Map<String, Object> c = new HashMap<>();
      c.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, stack.bootstrapServers());
      c.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
      c.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class);
      c.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class);
      consumer = new KafkaConsumer<>(c);
      List<TopicPartition> all = new ArrayList<>();
      for (String t : List.of(Topics.STAGE_EVENTS, Topics.WORKER_EVENTS)) {
        for (PartitionInfo i : consumer.partitionsFor(t)) {
          all.add(new TopicPartition(t, i.partition()));
        }
      }
      consumer.assign(all);
      consumer.seekToBeginning(all);
      reader =
          new Thread(
              () -> {
                try {
                  while (!closed) {
                    for (ConsumerRecord<String, byte[]> r : consumer.poll(Duration.ofMillis(100))) {
                      if (r.topic().equals(Topics.STAGE_EVENTS)) {
                        stages.add(stageReader.deserialize(r.topic(), r.value()));
                      } else {
                        workers.add(workerReader.deserialize(r.topic(), r.value()));
                      }
                    }
                  }
                } catch (org.apache.kafka.common.errors.WakeupException e) {
                  // closing
                } finally {
                  consumer.close();
                }
              },
              "it-events");
      reader.setDaemon(true);
      reader.start();
    }

    WorkerEvent awaitReady(Duration timeout) throws InterruptedException {
      long end = System.nanoTime() + timeout.toNanos();
      while (System.nanoTime() < end) {
        for (WorkerEvent e : workers) {
          if (e.getType() == WorkerEventType.READY && !e.getOwnedPartitions().isEmpty()) {
            return e;
          }
        }
        Thread.sleep(50);
      }
      throw new AssertionError("no READY worker event within " + timeout + ": " + workers);
    }

    /** The task's COMPLETED or FAILED event. */
    StageEvent awaitStage(String taskId, Duration timeout) throws InterruptedException {
      long end = System.nanoTime() + timeout.toNanos();
      while (System.nanoTime() < end) {
        for (StageEvent e : stages) {
          if (e.getTaskId().equals(taskId)
              && (e.getType() == StageEventType.COMPLETED
                  || e.getType() == StageEventType.FAILED)) {
            return e;
          }
        }
        Thread.sleep(50);
      }
      throw new AssertionError(
          "task " + taskId + " did not finish within " + timeout + ": " + stages);
    }

    @Override
    public void close() throws InterruptedException {
      closed = true;
      consumer.wakeup();
      reader.join(5000);
      producer.close();
    }
  }
}
