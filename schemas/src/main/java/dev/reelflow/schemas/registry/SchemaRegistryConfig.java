package dev.reelflow.schemas.registry;

import java.io.Serializable;
import java.net.URI;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * Immutable settings of a {@link SchemaRegistryClient}. Serializable, so Flink functions can carry
 * it and build their client on open.
 *
 * <p>Keys for {@link #fromProperties} (Confluent's names where Confluent has one):
 *
 * <ul>
 *   <li>{@value #URL} (required): one URL or a comma-separated list; later ones are tried when an
 *       earlier one cannot be reached.
 *   <li>{@value #BASIC_AUTH_USER_INFO}: {@code user:password} for HTTP basic auth; none by default.
 *   <li>{@value #CONNECT_TIMEOUT_MS}: default 5000.
 *   <li>{@value #REQUEST_TIMEOUT_MS}: default 10000.
 *   <li>{@value #MAX_RETRIES}: retries after a 5xx answer or a connection error; default 3.
 *   <li>{@value #RETRY_BACKOFF_MS}: first backoff, doubled per retry; default 100.
 *   <li>{@value #RETRY_BACKOFF_MAX_MS}: backoff ceiling; default 2000.
 * </ul>
 */
public final class SchemaRegistryConfig implements Serializable {
  private static final long serialVersionUID = 1L;

  public static final String URL = "schema.registry.url";
  public static final String BASIC_AUTH_USER_INFO = "basic.auth.user.info";
  public static final String CONNECT_TIMEOUT_MS = "schema.registry.connect.timeout.ms";
  public static final String REQUEST_TIMEOUT_MS = "schema.registry.request.timeout.ms";
  public static final String MAX_RETRIES = "schema.registry.max.retries";
  public static final String RETRY_BACKOFF_MS = "schema.registry.retry.backoff.ms";
  public static final String RETRY_BACKOFF_MAX_MS = "schema.registry.retry.backoff.max.ms";

  private final List<String> urls;
  private final String userInfo;
  private final long connectTimeoutMs;
  private final long requestTimeoutMs;
  private final int maxRetries;
  private final long retryBackoffMs;
  private final long retryBackoffMaxMs;

  private SchemaRegistryConfig(Builder b) {
    this.urls = List.copyOf(b.urls);
    this.userInfo = b.userInfo;
    this.connectTimeoutMs = b.connectTimeoutMs;
    this.requestTimeoutMs = b.requestTimeoutMs;
    this.maxRetries = b.maxRetries;
    this.retryBackoffMs = b.retryBackoffMs;
    this.retryBackoffMaxMs = b.retryBackoffMaxMs;
  }

  public static Builder builder() {
    return new Builder();
  }

  /** Settings with one URL and every default. */
  public static SchemaRegistryConfig of(String url) {
    return builder().url(url).build();
  }

  /**
   * Reads the documented keys; other keys are ignored.
   *
   * @throws IllegalArgumentException when {@value #URL} is missing or a number is malformed
   */
  public static SchemaRegistryConfig fromProperties(Map<String, ?> props) {
    Builder b = builder();
    Object url = props.get(URL);
    if (url == null || url.toString().isBlank()) {
      throw new IllegalArgumentException(
          URL + " is required: set it to the schema registry's address, e.g. http://host:8081");
    }
    for (String u : url.toString().split(",")) {
      if (!u.isBlank()) {
        b.url(u.trim());
      }
    }
    Object user = props.get(BASIC_AUTH_USER_INFO);
    if (user != null && !user.toString().isBlank()) {
      b.basicAuth(user.toString());
    }
    b.connectTimeout(Duration.ofMillis(number(props, CONNECT_TIMEOUT_MS, b.connectTimeoutMs)));
    b.requestTimeout(Duration.ofMillis(number(props, REQUEST_TIMEOUT_MS, b.requestTimeoutMs)));
    b.maxRetries((int) number(props, MAX_RETRIES, b.maxRetries));
    b.retryBackoff(
        Duration.ofMillis(number(props, RETRY_BACKOFF_MS, b.retryBackoffMs)),
        Duration.ofMillis(number(props, RETRY_BACKOFF_MAX_MS, b.retryBackoffMaxMs)));
    return b.build();
  }

  private static long number(Map<String, ?> props, String key, long dflt) {
    Object v = props.get(key);
    if (v == null) {
      return dflt;
    }
    try {
      return Long.parseLong(v.toString().trim());
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException(key + " must be a number, got '" + v + "'", e);
    }
  }

  /** Registry base URLs, tried in order. */
  public List<String> urls() {
    return urls;
  }

  /** {@code user:password} for basic auth, or null. */
  public String basicAuthUserInfo() {
    return userInfo;
  }

  public Duration connectTimeout() {
    return Duration.ofMillis(connectTimeoutMs);
  }

  public Duration requestTimeout() {
    return Duration.ofMillis(requestTimeoutMs);
  }

  public int maxRetries() {
    return maxRetries;
  }

  public Duration retryBackoff() {
    return Duration.ofMillis(retryBackoffMs);
  }

  public Duration retryBackoffMax() {
    return Duration.ofMillis(retryBackoffMaxMs);
  }

  /** The settings as properties, with the password masked, for start-up logs. */
  public Map<String, String> describe() {
    Map<String, String> m = new LinkedHashMap<>();
    m.put(URL, String.join(",", urls));
    m.put(
        BASIC_AUTH_USER_INFO,
        userInfo == null ? "" : userInfo.substring(0, userInfo.indexOf(':') + 1) + "****");
    m.put(CONNECT_TIMEOUT_MS, Long.toString(connectTimeoutMs));
    m.put(REQUEST_TIMEOUT_MS, Long.toString(requestTimeoutMs));
    m.put(MAX_RETRIES, Integer.toString(maxRetries));
    m.put(RETRY_BACKOFF_MS, Long.toString(retryBackoffMs));
    m.put(RETRY_BACKOFF_MAX_MS, Long.toString(retryBackoffMaxMs));
    return m;
  }

  @Override
  public String toString() {
    return "SchemaRegistryConfig" + describe();
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof SchemaRegistryConfig c
        && urls.equals(c.urls)
        && Objects.equals(userInfo, c.userInfo)
        && connectTimeoutMs == c.connectTimeoutMs
        && requestTimeoutMs == c.requestTimeoutMs
        && maxRetries == c.maxRetries
        && retryBackoffMs == c.retryBackoffMs
        && retryBackoffMaxMs == c.retryBackoffMaxMs;
  }

  @Override
  public int hashCode() {
    return Objects.hash(urls, userInfo, connectTimeoutMs, requestTimeoutMs, maxRetries);
  }

  /** Builder with validated options. */
  public static final class Builder {
    private final List<String> urls = new ArrayList<>();
    private String userInfo;
    private long connectTimeoutMs = 5_000;
    private long requestTimeoutMs = 10_000;
    private int maxRetries = 3;
    private long retryBackoffMs = 100;
    private long retryBackoffMaxMs = 2_000;

    private Builder() {}

    /** Adds a base URL (http or https); call again for fail-over URLs. */
    public Builder url(String url) {
      if (url == null || url.isBlank()) {
        throw new IllegalArgumentException("registry url is blank");
      }
      String u = url.trim();
      while (u.endsWith("/")) {
        u = u.substring(0, u.length() - 1);
      }
      URI uri;
      try {
        uri = URI.create(u);
      } catch (IllegalArgumentException e) {
        throw new IllegalArgumentException("registry url '" + url + "' is not a URI", e);
      }
      if (!"http".equals(uri.getScheme()) && !"https".equals(uri.getScheme())) {
        throw new IllegalArgumentException(
            "registry url '" + url + "' must start with http:// or https://");
      }
      urls.add(u);
      return this;
    }

    /** Basic auth as {@code user:password}. */
    public Builder basicAuth(String userInfo) {
      if (userInfo == null || !userInfo.contains(":")) {
        throw new IllegalArgumentException(
            BASIC_AUTH_USER_INFO + " must be user:password (the password may be empty)");
      }
      this.userInfo = userInfo;
      return this;
    }

    /** Basic auth from user and password. */
    public Builder basicAuth(String user, String password) {
      return basicAuth(user + ":" + (password == null ? "" : password));
    }

    public Builder connectTimeout(Duration timeout) {
      this.connectTimeoutMs = positive(timeout, CONNECT_TIMEOUT_MS);
      return this;
    }

    public Builder requestTimeout(Duration timeout) {
      this.requestTimeoutMs = positive(timeout, REQUEST_TIMEOUT_MS);
      return this;
    }

    /** Retries after a 5xx answer or a connection error (0 disables retries). */
    public Builder maxRetries(int retries) {
      if (retries < 0) {
        throw new IllegalArgumentException(MAX_RETRIES + " must be >= 0, got " + retries);
      }
      this.maxRetries = retries;
      return this;
    }

    /** First backoff and ceiling; the backoff doubles after each failed try. */
    public Builder retryBackoff(Duration initial, Duration max) {
      this.retryBackoffMs = positive(initial, RETRY_BACKOFF_MS);
      this.retryBackoffMaxMs = positive(max, RETRY_BACKOFF_MAX_MS);
      if (retryBackoffMaxMs < retryBackoffMs) {
        throw new IllegalArgumentException(
            RETRY_BACKOFF_MAX_MS + " must be >= " + RETRY_BACKOFF_MS);
      }
      return this;
    }

    private static long positive(Duration d, String key) {
      if (d == null || d.isNegative() || d.isZero()) {
        throw new IllegalArgumentException(key + " must be positive, got " + d);
      }
      return d.toMillis();
    }

    public SchemaRegistryConfig build() {
      if (urls.isEmpty()) {
        throw new IllegalArgumentException(
            URL + " is required: set it to the schema registry's address, e.g. http://host:8081");
      }
      return new SchemaRegistryConfig(this);
    }
  }
}
