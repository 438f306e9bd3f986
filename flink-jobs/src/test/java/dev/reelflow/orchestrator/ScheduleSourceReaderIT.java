package dev.reelflow.orchestrator;

import static org.assertj.core.api.Assertions.assertThat;

import dev.reelflow.schemas.avro.DeadLetter;
import dev.reelflow.schemas.avro.RenderRequest;
import dev.reelflow.schemas.avro.Resolution;
import dev.reelflow.schemas.avro.Schedule;
import dev.reelflow.schemas.avro.UpscaleTarget;
import dev.reelflow.stack.LocalStack;
import dev.reelflow.stack.LocalStackExtension;
import dev.reelflow.storage.ArtifactStore;
import dev.reelflow.storage.ObjectAttributes;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import org.apache.flink.streaming.api.operators.ProcessOperator;
import org.apache.flink.streaming.runtime.streamrecord.StreamRecord;
import org.apache.flink.streaming.util.OneInputStreamOperatorTestHarness;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** Schedule sources read from the embedded S3 endpoint: all rows fire, or none and a reason. */
class ScheduleSourceReaderIT {
  @RegisterExtension
  static final LocalStackExtension STACK = LocalStackExtension.builder().s3().build();

  static final long FIRE = Instant.parse("2026-11-25T10:00:00Z").toEpochMilli();
  static ArtifactStore store;

  @BeforeAll
  static void connect() {
    LocalStack s = STACK.stack();
    store =
        ArtifactStore.builder()
            .endpoint(s.s3Endpoint())
            .credentials(s.s3AccessKey(), s.s3SecretKey())
            .region(s.s3Region())
            .bucket(s.bucket())
            .build();
    store.ensureBucket();
  }

  @AfterAll
  static void disconnect() throws Exception {
    store.close();
  }

  private static OrchestratorConfig.StorageSettings settings() {
    LocalStack s = STACK.stack();
    return new OrchestratorConfig.StorageSettings(
        s.s3Endpoint(), s.s3AccessKey(), s.s3SecretKey(), s.s3Region(), s.bucket());
  }

  private static Schedule schedule(String source) {
    return Schedule.newBuilder(ScheduleTriggerTest.schedule("0 * * * *", List.of()))
        .setSource(source)
        .build();
  }

  private static void upload(String key, String text) {
    store.put(
        key,
        text.getBytes(StandardCharsets.UTF_8),
        ObjectAttributes.ofType("application/x-ndjson"));
  }

  /** Runs one fire through the reader; returns the requests and the dead letters. */
  private static Fired fire(OrchestratorConfig.StorageSettings storage, int maxRows, Schedule s)
      throws Exception {
    try (var h =
        new OneInputStreamOperatorTestHarness<>(
            new ProcessOperator<>(
                new ScheduleSourceReader(storage, maxRows, Duration.ofSeconds(5))))) {
      h.open();
      h.processElement(new StreamRecord<>(new SourceFire(s, FIRE)));
      List<DeadLetter> dlq = new ArrayList<>();
      var side = h.getSideOutput(ScheduleTrigger.DLQ);
      if (side != null) {
        side.forEach(r -> dlq.add(r.getValue()));
      }
      return new Fired(h.extractOutputValues(), dlq);
    }
  }

  record Fired(List<RenderRequest> requests, List<DeadLetter> deadLetters) {}

  @Test
  void everyRowOfTheObjectBecomesARequestWithADeterministicId() throws Exception {
    upload(
        "demo/rows/catalogue.ndjson",
        "{\"prompt\":\"a red sneaker on a rooftop\",\"seed\":11}\n"
            + "\n"
            + "{\"prompt\":\"霓虹灯下的咖啡杯\",\"resolution\":\"480p\",\"upscale\":\"none\"}\n"
            + "{\"aspect_ratio\":\"9:16\"}\n");
    Fired f = fire(settings(), 100, schedule("demo/rows/catalogue.ndjson"));
    assertThat(f.deadLetters()).isEmpty();
    assertThat(f.requests())
        .extracting(RenderRequest::getRequestId)
        .containsExactly(
            "nightly-20261125T100000Z-0",
            "nightly-20261125T100000Z-1",
            "nightly-20261125T100000Z-2");
    RenderRequest r0 = f.requests().get(0);
    assertThat(r0.getParams().getPrompt()).isEqualTo("a red sneaker on a rooftop");
    assertThat(r0.getParams().getSeed()).isEqualTo(11);
    assertThat(r0.getScheduleId()).isEqualTo("nightly");
    assertThat(r0.getTenant()).isEqualTo("demo");
    RenderRequest r1 = f.requests().get(1);
    assertThat(r1.getParams().getPrompt()).isEqualTo("霓虹灯下的咖啡杯");
    assertThat(r1.getParams().getResolution()).isEqualTo(Resolution.P480);
    assertThat(r1.getParams().getUpscale()).isEqualTo(UpscaleTarget.NONE);
    assertThat(f.requests().get(2).getParams().getPrompt()).isEqualTo("a red fox in the snow");
    // A replay of the same fire yields the same ids (the lifecycle drops the duplicates).
    assertThat(fire(settings(), 100, schedule("demo/rows/catalogue.ndjson")).requests())
        .extracting(RenderRequest::getRequestId)
        .isEqualTo(f.requests().stream().map(RenderRequest::getRequestId).toList());
  }

  @Test
  void oneInvalidRowFiresNothingAndNamesTheRow() throws Exception {
    upload(
        "demo/rows/bad.ndjson",
        "{\"prompt\":\"ok\"}\n{\"colour\":\"red\"}\nnot json\n{\"prompt\":\"also ok\"}\n");
    Fired f = fire(settings(), 100, schedule("demo/rows/bad.ndjson"));
    assertThat(f.requests()).isEmpty();
    assertThat(f.deadLetters()).hasSize(1);
    DeadLetter d = f.deadLetters().get(0);
    assertThat(d.getSourceTopic()).isEqualTo("render.schedules");
    assertThat(d.getKey()).isEqualTo("nightly");
    assertThat(d.getErrorClass()).isEqualTo("ScheduleSourceRefused");
    assertThat(d.getReason())
        .contains("rendered nothing")
        .contains("2 of 4 rows")
        .contains("row 1 (line 2)", "colour")
        .contains("row 2 (line 3)");
  }

  @Test
  void missingForeignOversizedOrUnreadableSourcesAreDeadLettered() throws Exception {
    assertThat(fire(settings(), 100, schedule("demo/rows/missing.ndjson")).deadLetters())
        .singleElement()
        .extracting(DeadLetter::getReason)
        .asString()
        .contains("demo/rows/missing.ndjson does not exist");

    upload("other/rows.ndjson", "{\"prompt\":\"not yours\"}\n");
    Fired foreign = fire(settings(), 100, schedule("other/rows.ndjson"));
    assertThat(foreign.requests()).isEmpty();
    assertThat(foreign.deadLetters())
        .singleElement()
        .extracting(DeadLetter::getReason)
        .asString()
        .contains("outside the tenant's prefix demo/");

    upload("demo/rows/big.ndjson", "{}\n{}\n{}\n");
    Fired big = fire(settings(), 2, schedule("demo/rows/big.ndjson"));
    assertThat(big.requests()).isEmpty();
    assertThat(big.deadLetters())
        .singleElement()
        .extracting(DeadLetter::getReason)
        .asString()
        .contains("more than 2 rows", OrchestratorSettings.SCHEDULE_SOURCE_MAX_ROWS.name());

    upload("demo/rows/empty.ndjson", "\n\n");
    assertThat(fire(settings(), 100, schedule("demo/rows/empty.ndjson")).deadLetters())
        .singleElement()
        .extracting(DeadLetter::getReason)
        .asString()
        .contains("has no rows");

    var none = new OrchestratorConfig.StorageSettings("", "", "", "us-east-1", "reelflow");
    assertThat(fire(none, 100, schedule("demo/rows/catalogue.ndjson")).deadLetters())
        .singleElement()
        .extracting(DeadLetter::getReason)
        .asString()
        .contains("no " + OrchestratorSettings.S3_ENDPOINT.name());
  }
}
