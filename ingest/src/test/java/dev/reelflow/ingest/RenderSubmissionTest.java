package dev.reelflow.ingest;

import static org.assertj.core.api.Assertions.assertThat;

import dev.reelflow.schemas.avro.AspectRatio;
import dev.reelflow.schemas.avro.Mode;
import dev.reelflow.schemas.avro.RenderParams;
import dev.reelflow.schemas.avro.RenderRequest;
import dev.reelflow.schemas.avro.Resolution;
import dev.reelflow.schemas.avro.UpscaleTarget;
import java.time.Instant;
import java.util.Map;
import java.util.TreeMap;
import org.apache.avro.Schema;
import org.apache.avro.specific.SpecificRecord;
import org.junit.jupiter.api.Test;

/**
 * The request a submission becomes: field by field what the Avro builders made, so a field moved in
 * the schema cannot silently land in another slot of the all-arguments constructors.
 */
class RenderSubmissionTest {

  private static RenderSubmission full() {
    return new RenderSubmission(
        "a red fox",
        "blurry",
        Mode.I2V,
        "s3://reelflow/acme/in/fox.png",
        Resolution.P720,
        AspectRatio.AR_9_16,
        33,
        30,
        40,
        6.5f,
        1234L,
        UpscaleTarget.NONE,
        8,
        1_900_000_000_123L,
        Map.of("campaign", "spring", "sku", "42"),
        "https://hooks.example.com/reelflow",
        null);
  }

  private static RenderSubmission sparse() {
    return new RenderSubmission(
        "a red fox",
        "",
        Mode.T2V,
        null,
        Resolution.P480,
        AspectRatio.AR_16_9,
        121,
        24,
        null,
        null,
        null,
        UpscaleTarget.P1080,
        5,
        null,
        Map.of(),
        null,
        null);
  }

  /** The request as the builders made it before the constructors replaced them. */
  private static RenderRequest byBuilders(
      RenderSubmission s,
      String id,
      long fallbackSeed,
      String batchId,
      Integer row,
      String key,
      Instant now) {
    return RenderRequest.newBuilder()
        .setRequestId(id)
        .setTenant("acme")
        .setParams(
            RenderParams.newBuilder()
                .setPrompt(s.prompt())
                .setNegativePrompt(s.negativePrompt())
                .setMode(s.mode())
                .setImageUrl(s.imageUrl())
                .setResolution(s.resolution())
                .setAspectRatio(s.aspectRatio())
                .setFrames(s.frames())
                .setFps(s.fps())
                .setSteps(s.steps())
                .setGuidanceScale(s.guidanceScale())
                .setSeed(s.seed() != null ? s.seed() : fallbackSeed)
                .setUpscale(s.upscale())
                .build())
        .setPriority(s.priority())
        .setDeadline(s.deadline() == null ? null : Instant.ofEpochMilli(s.deadline()))
        .setLabels(new TreeMap<>(s.labels()))
        .setCallbackUrl(s.callbackUrl())
        .setBatchId(batchId)
        .setBatchRow(row)
        .setScheduleId(null)
        .setScheduleFireTime(null)
        .setIdempotencyKey(key)
        .setSubmittedAt(now)
        .build();
  }

  private static void assertSameFields(SpecificRecord actual, SpecificRecord expected) {
    for (Schema.Field f : expected.getSchema().getFields()) {
      assertThat(actual.get(f.pos())).as(f.name()).isEqualTo(expected.get(f.pos()));
    }
  }

  @Test
  void everyFieldLandsWhereTheBuildersPutIt() {
    Instant now = Instant.parse("2030-01-02T03:04:05.678Z");
    RenderRequest single = full().toRequest("r-1", "acme", 99L, null, null, "key-1", now);
    RenderRequest expected = byBuilders(full(), "r-1", 99L, null, null, "key-1", now);
    assertSameFields(single.getParams(), expected.getParams());
    assertSameFields(single, expected);
    assertThat(single).isEqualTo(expected);
    assertThat(single.getParams().getSeed()).as("the client's seed wins").isEqualTo(1234L);

    RenderRequest row = sparse().toRequest("b-1-000007", "acme", 99L, "b-1", 7, null, now);
    assertThat(row).isEqualTo(byBuilders(sparse(), "b-1-000007", 99L, "b-1", 7, null, now));
    assertThat(row.getParams().getSeed()).as("the fallback seed without one").isEqualTo(99L);
  }

  @Test
  void theSubmissionTimeIsKeptInMilliseconds() {
    Instant now = Instant.parse("2030-01-02T03:04:05.678912345Z");
    RenderRequest r = sparse().toRequest("r-2", "acme", 1L, null, null, null, now);
    assertThat(r.getSubmittedAt()).isEqualTo(Instant.parse("2030-01-02T03:04:05.678Z"));
  }
}
