package dev.reelflow.ingest;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.reelflow.storage.ArtifactStore;
import dev.reelflow.storage.KeyOutsideTenantException;
import java.net.URI;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/** How output keys become links, with and without an object store (presigning is local). */
class IngestStoreTest {

  @Test
  void withoutAnEndpointThereIsNoStoreAndLinksAreS3Names() {
    IngestConfig config = IngestConfig.builder().set(IngestConfig.S3_BUCKET, "media").build();
    Optional<ArtifactStore> store = IngestStore.open(config);
    assertThat(store).isEmpty();
    assertThat(IngestStore.outputLinks(config, store).link("acme", "acme/r1/final/video.mp4"))
        .isEqualTo("s3://media/acme/r1/final/video.mp4");
  }

  @Test
  void withAnEndpointLinksArePresignedForTheTenantOnly() {
    IngestConfig config =
        IngestConfig.builder()
            .set(IngestConfig.S3_ENDPOINT, "http://127.0.0.1:1")
            .set(IngestConfig.S3_ACCESS_KEY, "ak")
            .set(IngestConfig.S3_SECRET_KEY, "sk-sk-sk-sk")
            .set(IngestConfig.S3_BUCKET, "media")
            .set(IngestConfig.S3_PRESIGN_TTL, "PT10M")
            .build();
    Optional<ArtifactStore> store = IngestStore.open(config);
    assertThat(store).isPresent();
    try (ArtifactStore s3 = store.get()) {
      RenderJson.OutputLinks links = IngestStore.outputLinks(config, store);
      URI url = URI.create(links.link("acme", "acme/r1/final/video.mp4"));
      assertThat(url.getHost()).isEqualTo("127.0.0.1");
      assertThat(url.getPath()).isEqualTo("/media/acme/r1/final/video.mp4");
      assertThat(url.getQuery()).contains("X-Amz-Expires=600").contains("X-Amz-Signature=");
      assertThatThrownBy(() -> links.link("acme", "other/r1/final/video.mp4"))
          .isInstanceOf(KeyOutsideTenantException.class);
    }
  }
}
