package dev.reelflow.storage;

import static dev.reelflow.storage.S3ObjectConventions.checkKey;

import io.minio.GetPresignedObjectUrlArgs;
import io.minio.MinioAsyncClient;
import io.minio.http.Method;
import java.net.URI;
import java.time.Duration;
import okhttp3.OkHttpClient;

/**
 * Presigns GET and PUT URLs, for the public host name where one is configured; presigning is local
 * computation, so it needs no connection and no retry.
 */
final class UrlPresigner {
  private final String bucket;
  private final MinioAsyncClient presigner;
  private final S3ErrorTranslator errors;

  /**
   * @param client the store's client, used as is when no presign endpoint is configured
   * @param http the store's HTTP client, shared by the presign endpoint's client (never closed)
   */
  UrlPresigner(
      ArtifactStore.Builder b,
      MinioAsyncClient client,
      OkHttpClient http,
      S3ErrorTranslator errors) {
    this.bucket = b.bucket;
    this.errors = errors;
    // Presigning is local computation (the region is fixed), so a second client for the public
    // host name costs no connection; it shares the HTTP client and never closes it.
    this.presigner =
        b.presignEndpoint == null
            ? client
            : MinioAsyncClient.builder()
                .endpoint(b.presignEndpoint)
                .region(b.region)
                .credentials(b.accessKey, b.secretKey)
                .httpClient(http, false)
                .build();
  }

  URI presign(Method method, String key, Duration expiry) {
    checkKey(key);
    long seconds = expiry.toSeconds();
    if (seconds < 1 || seconds > 7L * 24 * 3600) {
      throw new IllegalArgumentException(
          "presigned URL expiry must be 1 s to 7 days (S3 limit): " + expiry);
    }
    try {
      return URI.create(
          presigner.getPresignedObjectUrl(
              GetPresignedObjectUrlArgs.builder()
                  .method(method)
                  .bucket(bucket)
                  .object(key)
                  .expiry((int) seconds)
                  .build()));
    } catch (Exception e) {
      throw errors.translate("presign", key, e);
    }
  }
}
