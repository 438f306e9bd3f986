package dev.reelflow.storage.input;

import java.net.InetAddress;
import java.net.Proxy;
import java.net.UnknownHostException;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import okhttp3.Connection;
import okhttp3.Dns;
import okhttp3.OkHttpClient;

/**
 * OkHttp clients that only connect where an {@link AddressPolicy} allows: the one way the pipeline
 * reaches a URL a client gave it (reference images, webhook callbacks).
 *
 * <ul>
 *   <li>the host is resolved once, by the client's own {@link Resolver}, and every address it
 *       resolves to is checked; OkHttp then connects only to those checked addresses, so a DNS
 *       answer that changes after the check (rebinding) is never used;
 *   <li>the address actually connected to is checked again before the request is sent (a network
 *       interceptor), which also covers literal addresses and pooled connections;
 *   <li>no proxy (a proxy would connect on our behalf, unchecked) and no automatic redirects (a
 *       caller that follows redirects checks each target with {@link AddressPolicy#checkUrl}).
 * </ul>
 *
 * A refused address fails the call with a {@link ForbiddenAddressException} (an {@link
 * UnknownHostException}, possibly wrapped: find it with {@link #forbidden}). Hosts on the policy's
 * allow list skip the address rules.
 */
public final class CheckedHttpClient {
  /** Host name resolution; the default is the system resolver. */
  @FunctionalInterface
  public interface Resolver {
    List<InetAddress> resolve(String host) throws UnknownHostException;

    /** The JVM's resolver. */
    static Resolver system() {
      return host -> Arrays.asList(InetAddress.getAllByName(host));
    }
  }

  /** An address the policy refuses; permanent, retrying cannot help. */
  public static final class ForbiddenAddressException extends UnknownHostException {
    private static final long serialVersionUID = 1L;

    ForbiddenAddressException(String message) {
      super(message);
    }
  }

  private CheckedHttpClient() {}

  /**
   * A client builder with the policy's checks installed (DNS, connection, no proxy, no redirects);
   * callers add timeouts and pools.
   */
  public static OkHttpClient.Builder builder(AddressPolicy policy, Resolver resolver) {
    Objects.requireNonNull(policy, "policy");
    Objects.requireNonNull(resolver, "resolver");
    Dns dns =
        host -> {
          List<InetAddress> all = resolver.resolve(host);
          if (all == null || all.isEmpty()) {
            throw new UnknownHostException(host + " has no address");
          }
          if (!policy.allowsHost(host)) {
            for (InetAddress a : all) {
              Optional<String> why = policy.check(a);
              if (why.isPresent()) {
                throw new ForbiddenAddressException("host " + host + " resolves to " + why.get());
              }
            }
          }
          return List.copyOf(all);
        };
    return new OkHttpClient.Builder()
        .dns(dns)
        .proxy(Proxy.NO_PROXY)
        .followRedirects(false)
        .followSslRedirects(false)
        .addNetworkInterceptor(
            chain -> {
              Connection c = chain.connection();
              String host = chain.request().url().host();
              if (c != null && !policy.allowsHost(host)) {
                InetAddress a = c.route().socketAddress().getAddress();
                Optional<String> why = policy.check(a);
                if (why.isPresent()) {
                  throw new ForbiddenAddressException(
                      "host " + host + " connected to " + why.get());
                }
              }
              return chain.proceed(chain.request());
            });
  }

  /** The refusal behind a failed call (in its causes or suppressed exceptions), if any. */
  public static Optional<ForbiddenAddressException> forbidden(Throwable t) {
    for (Throwable c = t; c != null; c = c.getCause()) {
      if (c instanceof ForbiddenAddressException f) {
        return Optional.of(f);
      }
      for (Throwable s : c.getSuppressed()) {
        if (s instanceof ForbiddenAddressException f) {
          return Optional.of(f);
        }
      }
    }
    return Optional.empty();
  }
}
