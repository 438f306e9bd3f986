package dev.reelflow.schemas;

import dev.reelflow.schemas.avro.AspectRatio;
import dev.reelflow.schemas.avro.Mode;
import dev.reelflow.schemas.avro.RenderParams;
import dev.reelflow.schemas.avro.RenderRequest;
import dev.reelflow.schemas.avro.Resolution;
import dev.reelflow.schemas.avro.UpscaleTarget;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The one sample render request of the project: the AsyncAPI document's example message (built from
 * it, with the other examples, by the package's example events) and the record the serde benchmark
 * writes and reads. Built with the generated builders, so it always matches the schema; it uses the
 * largest seed a client may give. Fresh instances on every call (the records are mutable).
 */
public final class ExampleRecords {
  /** The sample render's request id. */
  public static final String ID = "r-7fq2m4xk3bz6wd5ht8jn";

  /** The sample render's tenant. */
  public static final String TENANT = "acme";

  /** When the sample render was submitted. */
  public static final Instant SUBMITTED_AT = Instant.parse("2026-11-25T10:15:30.123Z");

  private ExampleRecords() {}

  /** The sample render's parameters: a 33-frame preview upscaled to 1080p, the largest seed. */
  public static RenderParams renderParams() {
    return RenderParams.newBuilder()
        .setPrompt("a red fox running through snow, a sign reads \"OPEN\"")
        .setMode(Mode.T2V)
        .setResolution(Resolution.PREVIEW)
        .setAspectRatio(AspectRatio.AR_16_9)
        .setFrames(33)
        .setFps(24)
        .setSteps(8)
        .setSeed(WireNumbers.MAX_SEED)
        .setUpscale(UpscaleTarget.P1080)
        .build();
  }

  /** The sample render request as the API publishes it (labels, idempotency key, priority). */
  public static RenderRequest renderRequest() {
    return RenderRequest.newBuilder()
        .setRequestId(ID)
        .setTenant(TENANT)
        .setParams(renderParams())
        .setPriority(5)
        .setLabels(new LinkedHashMap<>(Map.of("campaign", "winter")))
        .setIdempotencyKey("fox-1")
        .setSubmittedAt(SUBMITTED_AT)
        .build();
  }
}
