package dev.reelflow.worker;

import dev.reelflow.schemas.avro.ErrorCode;
import dev.reelflow.schemas.avro.RenderTask;
import dev.reelflow.storage.ArtifactKeys;
import dev.reelflow.storage.ArtifactStore;
import dev.reelflow.storage.KeyOutsideTenantException;
import dev.reelflow.storage.ObjectNotFoundException;
import dev.reelflow.storage.StorageException;
import dev.reelflow.storage.StoredObject;
import dev.reelflow.storage.input.AddressPolicy;
import dev.reelflow.storage.input.ImageFormat;
import dev.reelflow.storage.input.ImageInfo;
import dev.reelflow.storage.input.ImageLimits;
import dev.reelflow.storage.input.ImageRejectedException;
import dev.reelflow.storage.input.ImageSource;
import dev.reelflow.storage.input.RemoteImageFetcher;
import dev.reelflow.worker.spi.EngineException;
import dev.reelflow.worker.spi.ReferenceImage;
import dev.reelflow.worker.spi.VideoFrames;
import java.awt.image.BufferedImage;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import javax.imageio.ImageIO;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Fetches and decodes the reference image of an image-to-video task before the engine runs: from
 * the store ({@code s3://<bucket>/<key>}, under the task's tenant prefix: ingest stores inline
 * images there) or from an https URL under the SSRF rules ({@link RemoteImageFetcher}), checked
 * against the size limits from its headers, then decoded: PNG and JPEG with ImageIO, WebP (and what
 * ImageIO cannot read, such as CMYK JPEG) with FFmpeg. An image that can never be used fails the
 * task permanently (BAD_PARAMETERS, naming imageUrl and why); a store or network failure is
 * retryable.
 */
final class ReferenceImageLoader implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(ReferenceImageLoader.class);

  private final ArtifactStore store;
  private final AddressPolicy policy;
  private final ImageLimits limits;
  private final RemoteImageFetcher fetcher;

  ReferenceImageLoader(
      ArtifactStore store, AddressPolicy policy, ImageLimits limits, RemoteImageFetcher fetcher) {
    this.store = store;
    this.policy = policy;
    this.limits = limits;
    this.fetcher = fetcher;
  }

  /** A loader with the default limits and the strict SSRF policy (https, public addresses). */
  static ReferenceImageLoader strict(ArtifactStore store) {
    AddressPolicy p = AddressPolicy.strict();
    return new ReferenceImageLoader(
        store, p, ImageLimits.defaults(), RemoteImageFetcher.builder(p).build());
  }

  /** The worker's loader: its limits, its SSRF policy (own services denied) and its store. */
  static ReferenceImageLoader of(WorkerConfig c, ArtifactStore store) {
    AddressPolicy.Builder p =
        AddressPolicy.builder()
            .allowHttp(c.imageFetchAllowHttp())
            .allowAll(c.get(WorkerConfig.IMAGE_FETCH_ALLOW_HOSTS))
            .denyAll(c.get(WorkerConfig.IMAGE_FETCH_DENY_HOSTS))
            .denyServices(
                c.get(WorkerConfig.S3_ENDPOINT.name()),
                c.schemaRegistryUrl(),
                c.bootstrapServers());
    AddressPolicy policy = p.build();
    ImageLimits limits = ImageLimits.defaults().withMaxBytes(c.imageMaxBytes());
    RemoteImageFetcher f =
        RemoteImageFetcher.builder(policy)
            .limits(limits)
            .totalTimeout(c.imageFetchTimeout())
            .build();
    LOG.info("reference images: {}, at most {}", policy, limits.maxBytesText());
    return new ReferenceImageLoader(store, policy, limits, f);
  }

  /**
   * The task's reference image, saved as {@code reference.<ext>} in {@code workDir} and decoded.
   *
   * @throws EngineException BAD_PARAMETERS (permanent) for an image that can never be used,
   *     STORAGE_ERROR (retryable) when the store or the network failed
   */
  ReferenceImage load(RenderTask task, Path workDir) throws EngineException {
    String url = task.getParams().getImageUrl();
    if (url.regionMatches(true, 0, "data:", 0, 5)) {
      throw bad(
          "an inline data: URI reached the worker; ingest stores inline images and passes their"
              + " s3:// key (a schedule source must give s3:// or https)");
    }
    ImageSource src;
    try {
      src = ImageSource.parse(url, policy, limits);
    } catch (ImageRejectedException e) {
      throw bad(e.getMessage());
    }
    byte[] bytes;
    String source;
    if (src instanceof ImageSource.Stored s) {
      source = s.url();
      bytes = readStored(task, s);
    } else if (src instanceof ImageSource.Remote r) {
      source = r.uri().toString();
      try {
        bytes = fetcher.fetch(r.uri()).bytes();
      } catch (ImageRejectedException e) {
        throw bad(e.getMessage());
      } catch (IOException e) {
        throw new EngineException(
            ErrorCode.STORAGE_ERROR,
            "could not fetch the imageUrl " + source + ": " + e.getMessage(),
            true,
            e);
      }
    } else {
      throw bad("inline images are stored by ingest; the worker reads s3:// and https only");
    }
    ImageInfo info;
    try {
      info = ImageInfo.inspect(bytes, limits);
    } catch (ImageRejectedException e) {
      throw bad(e.getMessage());
    }
    Path file = workDir.resolve("reference." + info.format().extension());
    try {
      Files.write(file, bytes);
    } catch (IOException e) {
      throw EngineException.engineError("cannot write " + file + ": " + e.getMessage(), e);
    }
    int[] argb = decode(bytes, info, file);
    LOG.info(
        "{}: reference image {} ({}, {}x{}, {} bytes)",
        task.getRequestId(),
        source,
        info.format(),
        info.width(),
        info.height(),
        bytes.length);
    return new ReferenceImage(
        file, info.format().mediaType(), info.width(), info.height(), argb, source);
  }

  private byte[] readStored(RenderTask task, ImageSource.Stored s) throws EngineException {
    if (!s.bucket().equals(store.bucket())) {
      throw bad("an s3:// image must be in the render bucket s3://" + store.bucket() + "/");
    }
    try {
      ArtifactKeys.requireTenant(task.getTenant(), s.key());
    } catch (KeyOutsideTenantException e) {
      throw bad("the object key must be under the tenant's prefix " + task.getTenant() + "/");
    }
    try {
      StoredObject o = store.stat(s.key());
      if (o.sizeBytes() > limits.maxBytes()) {
        throw bad(
            "the image is " + o.sizeBytes() + " bytes; the limit is " + limits.maxBytesText());
      }
      return store.getBytes(s.key(), !o.sha256().isEmpty());
    } catch (ObjectNotFoundException e) {
      throw bad("there is no object " + s.url());
    } catch (StorageException e) {
      throw new EngineException(
          ErrorCode.STORAGE_ERROR,
          "could not read the reference image " + s.url() + ": " + e.getMessage(),
          true,
          e);
    }
  }

  /** Packed ARGB pixels of the image, checked against the size its header gave. */
  static int[] decode(byte[] bytes, ImageInfo info, Path file) throws EngineException {
    int[] argb = null;
    String why = null;
    if (info.format() != ImageFormat.WEBP) {
      try {
        BufferedImage im = ImageIO.read(new ByteArrayInputStream(bytes));
        if (im != null) {
          argb = im.getRGB(0, 0, im.getWidth(), im.getHeight(), null, 0, im.getWidth());
          if (im.getWidth() != info.width() || im.getHeight() != info.height()) {
            throw bad(
                "the "
                    + info.format()
                    + " decodes to "
                    + im.getWidth()
                    + "x"
                    + im.getHeight()
                    + " but its header says "
                    + info.width()
                    + "x"
                    + info.height());
          }
        }
      } catch (IOException | RuntimeException e) {
        why = e.getMessage(); // e.g. CMYK JPEG: FFmpeg reads those
      }
    }
    if (argb == null) {
      try {
        VideoFrames f = VideoCodec.decode(file).frames();
        if (f.count() < 1) {
          throw new IOException("no frame");
        }
        if (f.width() != info.width() || f.height() != info.height()) {
          throw bad(
              "the "
                  + info.format()
                  + " decodes to "
                  + f.width()
                  + "x"
                  + f.height()
                  + " but its header says "
                  + info.width()
                  + "x"
                  + info.height());
        }
        byte[] rgb = f.rgb(0);
        argb = new int[f.width() * f.height()];
        for (int i = 0; i < argb.length; i++) {
          argb[i] =
              0xff000000
                  | (rgb[3 * i] & 0xff) << 16
                  | (rgb[3 * i + 1] & 0xff) << 8
                  | (rgb[3 * i + 2] & 0xff);
        }
      } catch (IOException | RuntimeException e) {
        throw bad(
            "the "
                + info.format()
                + " image could not be decoded: "
                + e.getMessage()
                + (why == null ? "" : " (ImageIO: " + why + ")"));
      }
    }
    return argb;
  }

  private static EngineException bad(String why) {
    return EngineException.badParameters("imageUrl: " + why);
  }

  @Override
  public void close() {
    fetcher.close();
  }
}
