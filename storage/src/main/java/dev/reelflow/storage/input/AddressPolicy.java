package dev.reelflow.storage.input;

import java.net.Inet4Address;
import java.net.InetAddress;
import java.net.URI;
import java.net.UnknownHostException;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import java.util.Optional;
import java.util.regex.Pattern;

/**
 * Which addresses a URL given by a client may reach (server-side request forgery rules): never
 * loopback, link-local (169.254.0.0/16 with the cloud metadata service, fe80::/10), private (10/8,
 * 172.16/12, 192.168/16, fc00::/7), carrier-grade NAT (100.64/10), multicast, broadcast,
 * unspecified, reserved and documentation ranges, nor the pipeline's own services (hosts the
 * operator denies); IPv4 addresses embedded in IPv6 (mapped, compatible, NAT64, 6to4) are judged as
 * IPv4, and Teredo is refused. Only https, unless a test setup allows http.
 *
 * <p>The rules apply to the address actually connected to, after DNS resolution ({@link
 * RemoteImageFetcher} checks at connect time, so a name that later resolves elsewhere, DNS
 * rebinding, gains nothing); {@link #checkUrl} is the cheap check before any lookup (scheme, user
 * info, literal addresses and {@code localhost} names), for answering a client at once.
 *
 * <p>An operator can allow hosts or address ranges explicitly ({@link Builder#allow}): the local
 * stack allows its own test servers this way. Immutable and thread-safe.
 */
public final class AddressPolicy {
  private static final String OCTET = "(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])";
  private static final Pattern DOTTED_QUAD = Pattern.compile(OCTET + "(\\." + OCTET + "){3}");
  private static final Pattern NUMERIC =
      Pattern.compile("(0x[0-9a-f]*|[0-9]+)(\\.(0x[0-9a-f]*|[0-9]+))*");

  private final boolean allowHttp;
  private final List<String> allowHosts;
  private final List<Cidr> allowRanges;
  private final List<String> denyHosts;
  private final List<Cidr> denyRanges;

  private AddressPolicy(Builder b) {
    this.allowHttp = b.allowHttp;
    this.allowHosts = List.copyOf(b.allowHosts);
    this.allowRanges = List.copyOf(b.allowRanges);
    this.denyHosts = List.copyOf(b.denyHosts);
    this.denyRanges = List.copyOf(b.denyRanges);
  }

  /** The default rules: https only, nothing allowed beyond public unicast addresses. */
  public static AddressPolicy strict() {
    return builder().build();
  }

  public static Builder builder() {
    return new Builder();
  }

  /** Whether plain http is allowed (a test override; never in production). */
  public boolean allowsHttp() {
    return allowHttp;
  }

  /**
   * Checks what can be checked without DNS: the scheme (https, or http where allowed), no user
   * info, a host, and, for a literal address or a {@code localhost} name, the address rules.
   *
   * @return why the URL is refused, or empty
   */
  public Optional<String> checkUrl(URI uri) {
    String scheme = uri.getScheme() == null ? "" : uri.getScheme().toLowerCase(Locale.ROOT);
    if (!scheme.equals("https") && !(allowHttp && scheme.equals("http"))) {
      return Optional.of(
          "must be an https URL" + (allowHttp ? " (or http)" : "") + ", not " + scheme(uri));
    }
    if (uri.getRawUserInfo() != null) {
      return Optional.of("must not carry user info (credentials) in the URL");
    }
    String host = uri.getHost();
    if (host == null || host.isEmpty()) {
      return Optional.of("must name a host");
    }
    return checkHostName(host);
  }

  private static String scheme(URI uri) {
    return uri.getScheme() == null ? "a relative reference" : "'" + uri.getScheme() + "'";
  }

  /**
   * The name-level rules: a denied host, a {@code localhost} name, or a literal address that the
   * address rules refuse.
   */
  public Optional<String> checkHostName(String rawHost) {
    String host = normalise(rawHost);
    if (allowHosts.contains(host)) {
      return Optional.empty();
    }
    if (host.equals("localhost") || host.endsWith(".localhost")) {
      return Optional.of("host " + host + " is the local machine");
    }
    if (denyHosts.contains(host)) {
      return Optional.of("host " + host + " is one of the pipeline's own services");
    }
    if (nonCanonicalNumeric(host)) {
      return Optional.of("host " + host + " is a numeric address in a non-canonical form");
    }
    return literal(host).flatMap(this::check);
  }

  /** Whether the host is on the operator's allow list (no address rule applies to it). */
  public boolean allowsHost(String rawHost) {
    return allowHosts.contains(normalise(rawHost));
  }

  /**
   * The address rules for one resolved address.
   *
   * @return why a connection to it is refused, or empty
   */
  public Optional<String> check(InetAddress address) {
    for (Cidr c : allowRanges) {
      if (c.contains(address)) {
        return Optional.empty();
      }
    }
    String kind = forbiddenKind(address);
    if (kind != null) {
      return Optional.of(address.getHostAddress() + " is " + kind + " address");
    }
    for (Cidr c : denyRanges) {
      if (c.contains(address)) {
        return Optional.of(
            address.getHostAddress() + " is in " + c + ", one of the pipeline's own services");
      }
    }
    return Optional.empty();
  }

  /** The kind of a non-public address ("a loopback", ...), or null for a public unicast one. */
  static String forbiddenKind(InetAddress a) {
    if (a instanceof Inet4Address) {
      return forbidden4(a.getAddress());
    }
    byte[] b = a.getAddress();
    if (a.isLoopbackAddress()) {
      return "a loopback";
    }
    if (a.isAnyLocalAddress()) {
      return "an unspecified";
    }
    if (a.isMulticastAddress()) {
      return "a multicast";
    }
    if (a.isLinkLocalAddress()) {
      return "a link-local";
    }
    if (a.isSiteLocalAddress()) {
      return "a site-local";
    }
    int first = b[0] & 0xff;
    if ((first & 0xfe) == 0xfc) {
      return "a private (unique local, fc00::/7)";
    }
    // IPv4 inside IPv6: mapped ::ffff:a.b.c.d, compatible ::a.b.c.d, NAT64 64:ff9b::/96
    boolean zero80 = true;
    for (int i = 0; i < 10; i++) {
      zero80 &= b[i] == 0;
    }
    if (zero80 && ((b[10] == (byte) 0xff && b[11] == (byte) 0xff) || (b[10] == 0 && b[11] == 0))) {
      String k = forbidden4(new byte[] {b[12], b[13], b[14], b[15]});
      return k == null ? null : k + " (IPv4 inside IPv6)";
    }
    if (first == 0x00 && b[1] == 0x64 && b[2] == (byte) 0xff && b[3] == (byte) 0x9b) {
      String k = forbidden4(new byte[] {b[12], b[13], b[14], b[15]});
      return k == null ? null : k + " (NAT64)";
    }
    if (first == 0x20 && b[1] == 0x02) {
      String k = forbidden4(new byte[] {b[2], b[3], b[4], b[5]});
      return k == null ? null : k + " (6to4)";
    }
    if (first == 0x20 && b[1] == 0x01 && b[2] == 0 && b[3] == 0) {
      return "a Teredo tunnel";
    }
    if (first == 0x20 && b[1] == 0x01 && b[2] == 0x0d && b[3] == (byte) 0xb8) {
      return "a documentation (2001:db8::/32)";
    }
    if ((first & 0xe0) != 0x20) {
      return "a reserved (outside 2000::/3)";
    }
    return null;
  }

  private static String forbidden4(byte[] b) {
    int a0 = b[0] & 0xff;
    int a1 = b[1] & 0xff;
    int a2 = b[2] & 0xff;
    if (a0 == 127) {
      return "a loopback";
    }
    if (a0 == 0) {
      return "an unspecified (0.0.0.0/8)";
    }
    if (a0 == 10 || (a0 == 172 && (a1 & 0xf0) == 16) || (a0 == 192 && a1 == 168)) {
      return "a private";
    }
    if (a0 == 169 && a1 == 254) {
      return "a link-local (169.254.0.0/16, cloud metadata)";
    }
    if (a0 == 100 && (a1 & 0xc0) == 64) {
      return "a carrier-grade NAT (100.64.0.0/10)";
    }
    if (a0 >= 224 && a0 <= 239) {
      return "a multicast";
    }
    if (a0 >= 240) {
      return "a reserved or broadcast";
    }
    if (a0 == 192 && a1 == 0 && (a2 == 0 || a2 == 2)) {
      return "a reserved (192.0.0.0/24, 192.0.2.0/24)";
    }
    if (a0 == 198 && (a1 & 0xfe) == 18) {
      return "a benchmarking (198.18.0.0/15)";
    }
    if ((a0 == 198 && a1 == 51 && a2 == 100) || (a0 == 203 && a1 == 0 && a2 == 113)) {
      return "a documentation";
    }
    return null;
  }

  private static String normalise(String host) {
    String h = host.toLowerCase(Locale.ROOT);
    if (h.startsWith("[") && h.endsWith("]")) {
      h = h.substring(1, h.length() - 1);
    }
    return h.endsWith(".") ? h.substring(0, h.length() - 1) : h;
  }

  /** A literal IPv4 (canonical dotted quad) or IPv6 address, parsed without any lookup. */
  static Optional<InetAddress> literal(String host) {
    String h = normalise(host);
    if (h.contains(":")) {
      try {
        return Optional.of(InetAddress.getByName(h)); // an IPv6 literal: no lookup
      } catch (UnknownHostException e) {
        return Optional.empty();
      }
    }
    if (!DOTTED_QUAD.matcher(h).matches()) {
      return Optional.empty();
    }
    String[] parts = h.split("\\.");
    byte[] b = new byte[4];
    for (int i = 0; i < 4; i++) {
      b[i] = (byte) Integer.parseInt(parts[i]);
    }
    try {
      return Optional.of(InetAddress.getByAddress(b));
    } catch (UnknownHostException e) {
      throw new IllegalStateException(e);
    }
  }

  /**
   * Whether a host looks like a number in a form resolvers read as an IPv4 address though it is no
   * dotted quad ({@code 2130706433}, {@code 0x7f.1}, {@code 0177.0.0.1}, {@code 127.1}).
   */
  static boolean nonCanonicalNumeric(String host) {
    String h = normalise(host);
    return literal(h).isEmpty() && NUMERIC.matcher(h).matches();
  }

  @Override
  public String toString() {
    return "AddressPolicy[https"
        + (allowHttp ? "+http" : "")
        + (allowHosts.isEmpty() && allowRanges.isEmpty()
            ? ""
            : ", allow " + allowHosts + " " + allowRanges)
        + (denyHosts.isEmpty() && denyRanges.isEmpty()
            ? ""
            : ", deny " + denyHosts + " " + denyRanges)
        + "]";
  }

  /** An address range {@code address/prefix}. */
  record Cidr(byte[] network, int prefix, String text) {
    static Cidr parse(String s) {
      int slash = s.indexOf('/');
      String addr = slash < 0 ? s : s.substring(0, slash);
      Optional<InetAddress> a = literal(addr);
      if (a.isEmpty()) {
        throw new IllegalArgumentException("'" + s + "' is not an address or address/prefix");
      }
      byte[] net = a.get().getAddress();
      int max = net.length * 8;
      int prefix;
      try {
        prefix = slash < 0 ? max : Integer.parseInt(s.substring(slash + 1));
      } catch (NumberFormatException e) {
        throw new IllegalArgumentException("'" + s + "' has no numeric prefix length");
      }
      if (prefix < 0 || prefix > max) {
        throw new IllegalArgumentException("'" + s + "': prefix must be 0.." + max);
      }
      return new Cidr(net, prefix, s);
    }

    boolean contains(InetAddress a) {
      byte[] b = a.getAddress();
      if (b.length != network.length) {
        return false;
      }
      int full = prefix / 8;
      for (int i = 0; i < full; i++) {
        if (b[i] != network[i]) {
          return false;
        }
      }
      int rest = prefix % 8;
      if (rest == 0) {
        return true;
      }
      int mask = (0xff << (8 - rest)) & 0xff;
      return (b[full] & mask) == (network[full] & mask);
    }

    @Override
    public String toString() {
      return text;
    }
  }

  /** Options; see {@link AddressPolicy}. */
  public static final class Builder {
    private boolean allowHttp;
    private final List<String> allowHosts = new ArrayList<>();
    private final List<Cidr> allowRanges = new ArrayList<>();
    private final List<String> denyHosts = new ArrayList<>();
    private final List<Cidr> denyRanges = new ArrayList<>();

    private Builder() {}

    /** Allows plain http besides https: a documented test override; default false. */
    public Builder allowHttp(boolean allow) {
      this.allowHttp = allow;
      return this;
    }

    /**
     * Allows a host name (exactly, case-insensitive) or an address range ({@code 127.0.0.1}, {@code
     * 10.1.0.0/16}, {@code fd00::/8}) that the rules would refuse.
     */
    public Builder allow(String hostOrRange) {
      add(hostOrRange, allowHosts, allowRanges);
      return this;
    }

    /** Refuses a host name or an address range besides the built-in rules (own services). */
    public Builder deny(String hostOrRange) {
      add(hostOrRange, denyHosts, denyRanges);
      return this;
    }

    /**
     * Denies the hosts of the pipeline's own services, given as their URLs ({@code
     * http://registry:8081}) or comma-separated {@code host:port} lists (Kafka's bootstrap
     * servers); blank values are skipped. Hosts the operator allowed stay allowed.
     */
    public Builder denyServices(String... endpoints) {
      for (String endpoint : endpoints) {
        for (String host : serviceHosts(endpoint)) {
          add(host, denyHosts, denyRanges);
        }
      }
      return this;
    }

    private static List<String> serviceHosts(String endpoint) {
      List<String> out = new ArrayList<>();
      for (String e : split(endpoint)) {
        String host;
        if (e.contains("://")) {
          try {
            host = URI.create(e).getHost();
          } catch (IllegalArgumentException notAUrl) {
            host = null;
          }
        } else {
          int colon = e.lastIndexOf(':');
          host = colon > 0 && e.indexOf(':') == colon ? e.substring(0, colon) : e;
          if (host.startsWith("[") && host.contains("]")) {
            host = host.substring(1, host.indexOf(']'));
          }
        }
        if (host != null && !host.isBlank()) {
          out.add(host);
        }
      }
      return out;
    }

    /** {@link #allow} for each entry of a comma-separated list (blank entries skipped). */
    public Builder allowAll(String csv) {
      split(csv).forEach(this::allow);
      return this;
    }

    /** {@link #deny} for each entry of a comma-separated list (blank entries skipped). */
    public Builder denyAll(String csv) {
      split(csv).forEach(this::deny);
      return this;
    }

    private static List<String> split(String csv) {
      List<String> out = new ArrayList<>();
      if (csv != null) {
        for (String s : csv.split(",")) {
          if (!s.isBlank()) {
            out.add(s.trim());
          }
        }
      }
      return out;
    }

    private static void add(String entry, List<String> hosts, List<Cidr> ranges) {
      Objects.requireNonNull(entry, "entry");
      String e = entry.trim();
      if (e.isEmpty()) {
        throw new IllegalArgumentException("an empty host or address range");
      }
      if (e.contains("/") || literal(e).isPresent()) {
        ranges.add(Cidr.parse(e));
      } else {
        hosts.add(normalise(e));
      }
    }

    public AddressPolicy build() {
      return new AddressPolicy(this);
    }
  }
}
