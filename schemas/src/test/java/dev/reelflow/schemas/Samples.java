package dev.reelflow.schemas;

import dev.reelflow.schemas.avro.AspectRatio;
import dev.reelflow.schemas.avro.Mode;
import dev.reelflow.schemas.avro.RenderParams;
import dev.reelflow.schemas.avro.RenderRequest;
import dev.reelflow.schemas.avro.Resolution;
import dev.reelflow.schemas.avro.UpscaleTarget;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.Map;

/** Sample records for tests. */
public final class Samples {
  private Samples() {}

  public static RenderRequest request(String requestId) {
    return RenderRequest.newBuilder()
        .setRequestId(requestId)
        .setTenant("demo")
        .setParams(
            RenderParams.newBuilder()
                .setPrompt("a red fox runs through \"fresh snow\"")
                .setMode(Mode.T2V)
                .setResolution(Resolution.PREVIEW)
                .setAspectRatio(AspectRatio.AR_9_16)
                .setFrames(33)
                .setSteps(8)
                .setGuidanceScale(6.0f)
                .setSeed(42L)
                .setUpscale(UpscaleTarget.NONE)
                .build())
        .setPriority(7)
        .setDeadline(Instant.parse("2026-11-25T18:00:00Z"))
        .setLabels(Map.of("campaign", "winter", "variant", "3"))
        .setBatchId("b-1")
        .setBatchRow(3)
        .setSubmittedAt(Instant.now().truncatedTo(ChronoUnit.MILLIS))
        .build();
  }
}
