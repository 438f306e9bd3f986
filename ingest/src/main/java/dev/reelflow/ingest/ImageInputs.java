package dev.reelflow.ingest;

import dev.reelflow.storage.ArtifactKeys;
import dev.reelflow.storage.ArtifactStore;
import dev.reelflow.storage.KeyOutsideTenantException;
import dev.reelflow.storage.ObjectAttributes;
import dev.reelflow.storage.ObjectNotFoundException;
import dev.reelflow.storage.StorageException;
import dev.reelflow.storage.StoredObject;
import dev.reelflow.storage.input.AddressPolicy;
import dev.reelflow.storage.input.ImageInfo;
import dev.reelflow.storage.input.ImageLimits;
import dev.reelflow.storage.input.ImageRejectedException;
import dev.reelflow.storage.input.ImageSource;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The reference images of image-to-video requests ({@code imageUrl}), and the SSRF rules of the
 * other URL a request carries ({@link #callbackPolicy}). At validation: a data URI is decoded and
 * its PNG/JPEG/WebP headers checked against the size limits, an {@code s3://} object must be in the
 * render bucket under the tenant's prefix, an https URL must pass the SSRF checks that need no DNS.
 * Before publishing ({@link #resolve}): an inline image is stored under the render's prefix ({@link
 * ArtifactKeys#referenceImage}) and the request carries its {@code s3://} key instead of the bytes;
 * a stored object is read and checked. Everything refused is a 422 naming the field.
 */
final class ImageInputs {
  private static final Logger LOG = LoggerFactory.getLogger(ImageInputs.class);

  private final AddressPolicy policy;
  private final AddressPolicy callbacks;
  private final ImageLimits limits;
  private final String bucket;
  private final Optional<ArtifactStore> store;

  ImageInputs(
      AddressPolicy policy,
      AddressPolicy callbacks,
      ImageLimits limits,
      String bucket,
      Optional<ArtifactStore> store) {
    this.policy = policy;
    this.callbacks = callbacks;
    this.limits = limits;
    this.bucket = bucket;
    this.store = store;
  }

  static ImageInputs of(IngestConfig c, Optional<ArtifactStore> store) {
    return new ImageInputs(
        c.addressPolicy(
            IngestConfig.IMAGE_ALLOW_HTTP,
            IngestConfig.IMAGE_ALLOW_HOSTS,
            IngestConfig.IMAGE_DENY_HOSTS),
        c.addressPolicy(
            IngestConfig.WEBHOOK_ALLOW_HTTP,
            IngestConfig.WEBHOOK_ALLOW_HOSTS,
            IngestConfig.WEBHOOK_DENY_HOSTS),
        ImageLimits.defaults().withMaxBytes(c.longValue(IngestConfig.IMAGE_MAX_BYTES)),
        c.get(IngestConfig.S3_BUCKET),
        store);
  }

  /** The default rules without a store (validation only). */
  static ImageInputs defaults() {
    return new ImageInputs(
        AddressPolicy.strict(),
        AddressPolicy.strict(),
        ImageLimits.defaults(),
        "reelflow",
        Optional.empty());
  }

  /**
   * The SSRF rules of {@code callbackUrl}s (the same {@link AddressPolicy} rules as images, with
   * their own allow and deny lists): checked here without DNS, and on the resolved address at every
   * delivery ({@link WebhookDispatcher}).
   */
  AddressPolicy callbackPolicy() {
    return callbacks;
  }

  ImageLimits limits() {
    return limits;
  }

  /** Bytes a request body may carry beyond its usual limit: one image in base64. */
  long bodyAllowance() {
    return (limits.maxBytes() + 2) / 3 * 4 + 1024;
  }

  /**
   * Reads an {@code imageUrl}; on a refusal adds the error for {@code field} and returns null.
   *
   * @param tenant the tenant whose prefix an {@code s3://} key must be under (null: not checked)
   * @param inlineAllowed false where the request is kept for later (a schedule): data URIs refused
   */
  ImageSource parse(
      String value, String tenant, boolean inlineAllowed, String field, List<FieldError> errors) {
    if (!value.regionMatches(true, 0, "data:", 0, 5) && value.length() > RenderValidation.MAX_URL) {
      errors.add(
          new FieldError(field, "must be at most " + RenderValidation.MAX_URL + " characters"));
      return null;
    }
    ImageSource src;
    try {
      src = ImageSource.parse(value, policy, limits);
    } catch (ImageRejectedException e) {
      errors.add(new FieldError(field, e.getMessage()));
      return null;
    }
    if (src instanceof ImageSource.Inline && !inlineAllowed) {
      errors.add(
          new FieldError(
              field,
              "a schedule cannot carry an inline image: store it and give s3://"
                  + bucket
                  + "/<your key> or an https URL"));
      return null;
    }
    if (src instanceof ImageSource.Stored s) {
      if (!s.bucket().equals(bucket)) {
        errors.add(
            new FieldError(
                field, "an s3:// image must be in the render bucket: s3://" + bucket + "/..."));
        return null;
      }
      if (tenant != null) {
        try {
          ArtifactKeys.requireTenant(tenant, s.key());
        } catch (KeyOutsideTenantException e) {
          errors.add(
              new FieldError(field, "the object key must be under your prefix " + tenant + "/"));
          return null;
        }
      }
    }
    return src;
  }

  /**
   * Makes a submission's image usable by the workers: stores an inline image under the render's
   * prefix (the submission then carries its {@code s3://} key), reads and checks a stored one.
   *
   * @throws ApiException 422 naming {@code field} for an image that cannot be used, 503 when the
   *     store does not answer
   */
  RenderSubmission resolve(
      RenderSubmission sub, String tenant, String requestId, Instant createdAt, String field) {
    ImageSource src = sub.image();
    if (src instanceof ImageSource.Inline in) {
      ArtifactStore s =
          store.orElseThrow(
              () ->
                  invalid(
                      field,
                      "inline images need the object store, which this deployment has not"
                          + " configured (s3.endpoint): give an https URL"));
      String key =
          ArtifactKeys.referenceImage(tenant, createdAt, requestId, in.info().format().extension());
      try {
        s.put(
            key,
            in.bytes(),
            ObjectAttributes.builder()
                .contentType(in.info().format().mediaType())
                .requestId(requestId)
                .build());
      } catch (StorageException e) {
        LOG.warn("Storing the reference image of {} failed: {}", requestId, e.toString());
        throw ApiException.unavailable(
            "The object store did not take the image; nothing was accepted. Retry later.", 5);
      }
      return sub.withImageUrl(ImageSource.Stored.url(bucket, key));
    }
    if (src instanceof ImageSource.Stored st && store.isPresent()) {
      ArtifactStore s = store.get();
      try {
        StoredObject o = s.stat(st.key());
        if (o.sizeBytes() > limits.maxBytes()) {
          throw invalid(
              field,
              "the object is " + o.sizeBytes() + " bytes; the limit is " + limits.maxBytesText());
        }
        ImageInfo.inspect(s.getBytes(st.key(), false), limits);
      } catch (ObjectNotFoundException e) {
        throw invalid(field, "there is no object " + st.url() + "; upload it first");
      } catch (ImageRejectedException e) {
        throw invalid(field, e.getMessage());
      } catch (StorageException e) {
        LOG.warn("Reading the reference image {} failed: {}", st.url(), e.toString());
        throw ApiException.unavailable(
            "The object store did not answer while checking the image. Retry later.", 5);
      }
    }
    return sub;
  }

  private static ApiException invalid(String field, String message) {
    return ApiException.invalid(List.of(new FieldError(field, message)));
  }
}
