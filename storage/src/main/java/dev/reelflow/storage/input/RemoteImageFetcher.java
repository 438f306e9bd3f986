package dev.reelflow.storage.input;

import java.io.IOException;
import java.io.InputStream;
import java.io.InterruptedIOException;
import java.net.URI;
import java.time.Duration;
import java.util.Arrays;
import java.util.Objects;
import java.util.Optional;
import okhttp3.Call;
import okhttp3.ConnectionPool;
import okhttp3.HttpUrl;
import okhttp3.OkHttpClient;
import okhttp3.Request;
import okhttp3.Response;
import okhttp3.ResponseBody;

/**
 * Fetches a reference image from a client's URL under an {@link AddressPolicy}, with bounded size
 * and time:
 *
 * <ul>
 *   <li>connections go through a {@link CheckedHttpClient}: every address a host name resolves to
 *       is checked before connecting and the address connected to again before the request is sent
 *       (DNS rebinding and literal addresses gain nothing); a host with any forbidden address is
 *       refused;
 *   <li>redirects are followed by hand, at most {@link Builder#maxRedirects}, each target checked
 *       like the first URL; no proxy is used (a proxy would connect on our behalf unchecked);
 *   <li>at most {@link ImageLimits#maxBytes()} are read (a larger Content-Length is refused before
 *       reading), within the connect, read and total timeouts; the bytes must be a PNG, JPEG or
 *       WebP within the limits ({@link ImageInfo#inspect}).
 * </ul>
 *
 * <p>{@link #fetch} throws {@link ImageRejectedException} for what retrying cannot fix (a forbidden
 * address, a 4xx answer, too large, not an image) and {@link IOException} for what may pass
 * (timeouts, connection failures, 5xx, 408, 429). Thread-safe; close it to release its connections.
 */
public final class RemoteImageFetcher implements AutoCloseable {
  /**
   * A fetched image.
   *
   * @param bytes the encoded image
   * @param info its format and size
   * @param uri the URL it came from after redirects
   */
  public record Fetched(byte[] bytes, ImageInfo info, URI uri) {}

  private final AddressPolicy policy;
  private final ImageLimits limits;
  private final int maxRedirects;
  private final Duration total;
  private final OkHttpClient http;

  private RemoteImageFetcher(Builder b) {
    this.policy = b.policy;
    this.limits = b.limits;
    this.maxRedirects = b.maxRedirects;
    this.total = b.total;
    this.http =
        CheckedHttpClient.builder(policy, b.resolver)
            .connectionPool(new ConnectionPool(2, 1, java.util.concurrent.TimeUnit.MINUTES))
            .connectTimeout(b.connect)
            .readTimeout(b.read)
            .callTimeout(b.total)
            .build();
  }

  public static Builder builder(AddressPolicy policy) {
    return new Builder(policy);
  }

  /**
   * Fetches the image at {@code uri}.
   *
   * @throws ImageRejectedException when the URL, an address, the answer or the bytes can never be
   *     used (the message says which)
   * @throws IOException when the fetch failed in a way another attempt may not repeat
   */
  public Fetched fetch(URI uri) throws IOException {
    long deadline = System.nanoTime() + total.toNanos();
    URI current = uri;
    for (int hop = 0; ; hop++) {
      policy
          .checkUrl(current)
          .ifPresent(
              why -> {
                throw new ImageRejectedException(why);
              });
      HttpUrl url = HttpUrl.parse(current.toString());
      if (url == null) {
        throw new ImageRejectedException("is not a usable URL: " + current);
      }
      if (System.nanoTime() > deadline) {
        throw new InterruptedIOException("fetching the image took longer than " + total);
      }
      Request req =
          new Request.Builder()
              .url(url)
              .get()
              .header("User-Agent", "ReelFlow-ImageFetch/1")
              .header("Accept", "image/png, image/jpeg, image/webp")
              .build();
      Call call = http.newCall(req);
      try (Response r = call.execute()) {
        int code = r.code();
        if (code >= 300 && code < 400 && code != 304) {
          String loc = r.header("Location");
          if (loc == null) {
            throw new ImageRejectedException("the server answered " + code + " without a Location");
          }
          if (hop >= maxRedirects) {
            throw new ImageRejectedException("more than " + maxRedirects + " redirects");
          }
          HttpUrl next = url.resolve(loc);
          if (next == null) {
            throw new ImageRejectedException("the server redirected to an unusable URL");
          }
          current = next.uri();
          continue;
        }
        if (code == 408 || code == 429 || code >= 500) {
          throw new IOException("the image server answered " + code);
        }
        if (code < 200 || code >= 300) {
          throw new ImageRejectedException("the image server answered " + code);
        }
        byte[] bytes = read(r.body());
        return new Fetched(bytes, ImageInfo.inspect(bytes, limits), current);
      } catch (IOException e) {
        Optional<CheckedHttpClient.ForbiddenAddressException> f = CheckedHttpClient.forbidden(e);
        if (f.isPresent()) {
          throw new ImageRejectedException(f.get().getMessage(), e);
        }
        throw e;
      }
    }
  }

  private byte[] read(ResponseBody body) throws IOException {
    long declared = body.contentLength();
    if (declared > limits.maxBytes()) {
      throw new ImageRejectedException(
          "the image is " + declared + " bytes; the limit is " + limits.maxBytesText());
    }
    int cap = (int) Math.min(limits.maxBytes() + 1, Integer.MAX_VALUE - 8);
    byte[] buf = new byte[(int) Math.min(declared >= 0 ? declared + 1 : 64 << 10, cap)];
    int n = 0;
    try (InputStream in = body.byteStream()) {
      while (true) {
        if (n == buf.length) {
          if (buf.length >= cap) {
            throw new ImageRejectedException(
                "the image is larger than the limit of " + limits.maxBytesText());
          }
          buf = Arrays.copyOf(buf, (int) Math.min((long) buf.length * 2, cap));
        }
        int r = in.read(buf, n, buf.length - n);
        if (r < 0) {
          break;
        }
        n += r;
      }
    }
    if (n > limits.maxBytes()) {
      throw new ImageRejectedException(
          "the image is larger than the limit of " + limits.maxBytesText());
    }
    return Arrays.copyOf(buf, n);
  }

  @Override
  public void close() {
    http.dispatcher().executorService().shutdown();
    http.connectionPool().evictAll();
  }

  /** Options, with the defaults given on each setter. */
  public static final class Builder {
    private final AddressPolicy policy;
    private ImageLimits limits = ImageLimits.defaults();
    private Duration connect = Duration.ofSeconds(5);
    private Duration read = Duration.ofSeconds(10);
    private Duration total = Duration.ofSeconds(30);
    private int maxRedirects = 3;
    private CheckedHttpClient.Resolver resolver = CheckedHttpClient.Resolver.system();

    private Builder(AddressPolicy policy) {
      this.policy = Objects.requireNonNull(policy, "policy");
    }

    /** Size limits of the image; default {@link ImageLimits#defaults()}. */
    public Builder limits(ImageLimits l) {
      this.limits = Objects.requireNonNull(l);
      return this;
    }

    /** Connect timeout; default 5 s. */
    public Builder connectTimeout(Duration d) {
      this.connect = positive(d, "connect timeout");
      return this;
    }

    /** Longest wait for the next bytes; default 10 s. */
    public Builder readTimeout(Duration d) {
      this.read = positive(d, "read timeout");
      return this;
    }

    /** Longest whole fetch, redirects included; default 30 s. */
    public Builder totalTimeout(Duration d) {
      this.total = positive(d, "total timeout");
      return this;
    }

    /** Redirects followed at most; default 3. */
    public Builder maxRedirects(int n) {
      if (n < 0) {
        throw new IllegalArgumentException("max redirects must be >= 0");
      }
      this.maxRedirects = n;
      return this;
    }

    /** Host name resolution (tests: a resolver they control); default the system's. */
    public Builder resolver(CheckedHttpClient.Resolver r) {
      this.resolver = Objects.requireNonNull(r);
      return this;
    }

    private static Duration positive(Duration d, String what) {
      if (d == null || d.isNegative() || d.isZero()) {
        throw new IllegalArgumentException(what + " must be positive");
      }
      return d;
    }

    public RemoteImageFetcher build() {
      return new RemoteImageFetcher(this);
    }
  }
}
