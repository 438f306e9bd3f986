package dev.reelflow.storage;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.reelflow.schemas.avro.Stage;
import java.time.Instant;
import org.junit.jupiter.api.Test;

class ArtifactKeysTest {
  // 23:30 on the 31st in New York is already the 1st in UTC: the key must use UTC.
  private static final Instant CREATED = Instant.parse("2026-01-01T04:30:00Z");

  @Test
  void stageArtifactKeyFollowsTheLayoutWithUtcDateAndLowerCaseStage() {
    assertThat(
            ArtifactKeys.stageArtifact(
                "acme", CREATED, "r-42", Stage.BASE, 2, ArtifactKeys.LATENTS_FILE))
        .isEqualTo("acme/2026/01/01/r-42/base/attempt-2/latents.safetensors");
    assertThat(ArtifactKeys.stagePrefix("acme", CREATED, "r-42", "UPSCALE", 1))
        .isEqualTo("acme/2026/01/01/r-42/upscale/attempt-1/");
    assertThat(
            ArtifactKeys.stageArtifact(
                "acme", Instant.parse("2025-12-31T23:59:59Z"), "r-1", "base", 1, "preview.mp4"))
        .isEqualTo("acme/2025/12/31/r-1/base/attempt-1/preview.mp4");
  }

  @Test
  void finalKeysSitUnderFinal() {
    assertThat(ArtifactKeys.finalPrefix("demo", CREATED, "r-42"))
        .isEqualTo("demo/2026/01/01/r-42/final/");
    assertThat(ArtifactKeys.finalVideo("demo", CREATED, "r-42"))
        .isEqualTo("demo/2026/01/01/r-42/final/video.mp4");
    assertThat(ArtifactKeys.finalPoster("demo", CREATED, "r-42"))
        .isEqualTo("demo/2026/01/01/r-42/final/poster.jpg");
    assertThat(ArtifactKeys.finalManifest("demo", CREATED, "r-42"))
        .isEqualTo("demo/2026/01/01/r-42/final/manifest.json");
  }

  @Test
  void keysAreDeterministicAcrossCalls() {
    assertThat(ArtifactKeys.finalVideo("demo", CREATED, "r-7"))
        .isEqualTo(ArtifactKeys.finalVideo("demo", Instant.parse("2026-01-01T04:30:00Z"), "r-7"));
  }

  @Test
  void classifiesFinalAndAttemptKeys() {
    String fin = ArtifactKeys.finalVideo("demo", CREATED, "r-42");
    String att = ArtifactKeys.stageArtifact("demo", CREATED, "r-42", Stage.BASE, 1, "x.bin");
    assertThat(ArtifactKeys.isFinalKey(fin)).isTrue();
    assertThat(ArtifactKeys.isAttemptKey(fin)).isFalse();
    assertThat(ArtifactKeys.isAttemptKey(att)).isTrue();
    assertThat(ArtifactKeys.isFinalKey(att)).isFalse();
  }

  @Test
  void refusesIdsThatWouldEscapeTheirSegment() {
    assertThatThrownBy(() -> ArtifactKeys.finalVideo("demo", CREATED, "../other"))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("requestId");
    assertThatThrownBy(() -> ArtifactKeys.finalVideo("a/b", CREATED, "r-1"))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("tenant");
    assertThatThrownBy(() -> ArtifactKeys.finalVideo("demo", CREATED, " "))
        .isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> ArtifactKeys.finalArtifact("demo", CREATED, "r-1", "a\nb"))
        .isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> ArtifactKeys.stagePrefix("demo", CREATED, "r-1", Stage.BASE, 0))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("attempt");
    assertThatThrownBy(() -> ArtifactKeys.stagePrefix("demo", CREATED, "r-1", "decode", 1))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("base, upscale");
  }

  @Test
  void requireTenantAcceptsOwnKeysAndRefusesOthers() {
    String own = ArtifactKeys.finalVideo("acme", CREATED, "r-1");
    assertThat(ArtifactKeys.requireTenant("acme", own)).isEqualTo(own);
    assertThatThrownBy(() -> ArtifactKeys.requireTenant("acm", own))
        .isInstanceOf(KeyOutsideTenantException.class)
        .hasMessageContaining("acm/");
    assertThatThrownBy(() -> ArtifactKeys.requireTenant("acme", "acme/../evil/x"))
        .isInstanceOf(KeyOutsideTenantException.class);
    assertThatThrownBy(() -> ArtifactKeys.requireTenant("acme", "acme/"))
        .isInstanceOf(KeyOutsideTenantException.class);
    assertThatThrownBy(() -> ArtifactKeys.requireTenant("acme", null))
        .isInstanceOf(KeyOutsideTenantException.class);
  }
}
