package dev.reelflow.storage;

import org.testcontainers.containers.MinIOContainer;
import org.testcontainers.junit.jupiter.Container;
import org.testcontainers.junit.jupiter.Testcontainers;

/**
 * The same contract against a real MinIO server in a container (the production endpoint). Skipped
 * where no Docker daemon is available.
 */
@Testcontainers(disabledWithoutDocker = true)
class ArtifactStoreMinioIT extends ArtifactStoreContract {
  @Container
  static final MinIOContainer MINIO =
      new MinIOContainer("minio/minio:RELEASE.2025-04-22T22-12-26Z")
          .withUserName("reelflow")
          .withPassword("reelflow-secret");

  private static volatile boolean bucketReady;

  @Override
  ArtifactStore.Builder storeBuilder() {
    ArtifactStore.Builder b = super.storeBuilder();
    if (!bucketReady) {
      try (ArtifactStore s = super.storeBuilder().build()) {
        s.ensureBucket();
      }
      bucketReady = true;
    }
    return b;
  }

  @Override
  protected String endpoint() {
    return MINIO.getS3URL();
  }

  @Override
  protected String accessKey() {
    return MINIO.getUserName();
  }

  @Override
  protected String secretKey() {
    return MINIO.getPassword();
  }

  @Override
  protected String bucket() {
    return "reelflow";
  }

  @Override
  protected boolean supportsLifecycle() {
    return true;
  }
}
