package dev.reelflow.orchestrator;

import dev.reelflow.schemas.avro.Stage;
import java.time.Instant;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.util.Locale;

/**
 * Key prefixes the tasks carry: {@code {tenant}/{yyyy}/{mm}/{dd}/{requestId}/{stage}/attempt-{n}/}
 * and {@code .../{requestId}/final/}, dated by the render's createdAt in UTC. Mirrors storage's
 * ArtifactKeys (the one place that defines the layout) until that class is published; the layout is
 * pinned by a test.
 */
final class ArtifactPrefixes {
  private ArtifactPrefixes() {}

  static String renderPrefix(String tenant, Instant createdAt, String requestId) {
    LocalDate day = createdAt.atZone(ZoneOffset.UTC).toLocalDate();
    return String.format(
        Locale.ROOT,
        "%s/%04d/%02d/%02d/%s/",
        tenant,
        day.getYear(),
        day.getMonthValue(),
        day.getDayOfMonth(),
        requestId);
  }

  static String stagePrefix(
      String tenant, Instant createdAt, String requestId, Stage stage, int attempt) {
    return renderPrefix(tenant, createdAt, requestId)
        + stage.name().toLowerCase(Locale.ROOT)
        + "/attempt-"
        + attempt
        + "/";
  }

  static String finalPrefix(String tenant, Instant createdAt, String requestId) {
    return renderPrefix(tenant, createdAt, requestId) + "final/";
  }
}
