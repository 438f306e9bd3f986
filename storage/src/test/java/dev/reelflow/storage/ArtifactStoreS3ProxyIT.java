package dev.reelflow.storage;

import dev.reelflow.stack.LocalStackExtension;
import org.junit.jupiter.api.extension.RegisterExtension;

/** The contract against the embedded S3 endpoint (S3Proxy, filesystem backend). */
class ArtifactStoreS3ProxyIT extends ArtifactStoreContract {
  @RegisterExtension
  static final LocalStackExtension STACK = LocalStackExtension.builder().s3().build();

  @Override
  protected String endpoint() {
    return STACK.stack().s3Endpoint();
  }

  @Override
  protected String accessKey() {
    return STACK.stack().s3AccessKey();
  }

  @Override
  protected String secretKey() {
    return STACK.stack().s3SecretKey();
  }

  @Override
  protected String bucket() {
    return STACK.stack().bucket();
  }

  @Override
  protected boolean supportsLifecycle() {
    return false;
  }
}
