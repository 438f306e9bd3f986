package dev.reelflow.storage.input;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The fetcher against a local HTTP server, with host names resolved by a resolver the test
 * controls: forbidden addresses are refused before any byte reaches a server, redirects are checked
 * like the first URL, sizes and answers are judged as documented.
 */
class RemoteImageFetcherTest {
  private HttpServer server;
  private final AtomicInteger requests = new AtomicInteger();
  private final Map<String, InetAddress[]> dns = new ConcurrentHashMap<>();
  private int port;

  @BeforeEach
  void start() throws IOException {
    server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
    port = server.getAddress().getPort();
    byte[] png = TestImages.png(12, 8);
    server.createContext(
        "/",
        ex -> {
          requests.incrementAndGet();
          String path = ex.getRequestURI().getPath();
          try (ex) {
            switch (path) {
              case "/cat.png" -> send(ex, 200, png);
              case "/to-cat" -> redirect(ex, "/cat.png");
              case "/to-loopback" -> redirect(ex, "http://127.0.0.1:" + port + "/cat.png");
              case "/to-private-name" -> redirect(ex, "http://intranet.test:" + port + "/cat.png");
              case "/big" -> send(ex, 200, new byte[4096]);
              case "/big-chunked" -> {
                ex.sendResponseHeaders(200, 0);
                try (OutputStream o = ex.getResponseBody()) {
                  for (int i = 0; i < 8; i++) {
                    o.write(new byte[1024]);
                  }
                }
              }
              case "/text" -> send(ex, 200, "hello".getBytes());
              case "/gone" -> send(ex, 404, new byte[0]);
              case "/busy" -> send(ex, 503, new byte[0]);
              case "/slow" -> {
                sleep(1500);
                send(ex, 200, png);
              }
              default -> send(ex, 500, new byte[0]);
            }
          }
        });
    server.start();
    dns.put("images.test", new InetAddress[] {InetAddress.getLoopbackAddress()});
  }

  private static void sleep(long ms) {
    try {
      Thread.sleep(ms);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  private static void send(com.sun.net.httpserver.HttpExchange ex, int code, byte[] body)
      throws IOException {
    ex.sendResponseHeaders(code, body.length == 0 ? -1 : body.length);
    if (body.length > 0) {
      try (OutputStream o = ex.getResponseBody()) {
        o.write(body);
      }
    }
  }

  private static void redirect(com.sun.net.httpserver.HttpExchange ex, String to)
      throws IOException {
    ex.getResponseHeaders().add("Location", to);
    ex.sendResponseHeaders(302, -1);
  }

  @AfterEach
  void stop() {
    server.stop(0);
  }

  private RemoteImageFetcher fetcher(AddressPolicy policy, ImageLimits limits) {
    return RemoteImageFetcher.builder(policy)
        .limits(limits)
        .connectTimeout(Duration.ofSeconds(2))
        .readTimeout(Duration.ofMillis(700))
        .totalTimeout(Duration.ofSeconds(5))
        .resolver(
            host -> {
              InetAddress[] a = dns.get(host);
              if (a == null) {
                throw new java.net.UnknownHostException(host);
              }
              return List.of(a);
            })
        .build();
  }

  /** The test server is allowed by name only (http and images.test): addresses stay checked. */
  private RemoteImageFetcher allowingTheTestServer() {
    return fetcher(
        AddressPolicy.builder().allowHttp(true).allow("images.test").build(),
        ImageLimits.defaults());
  }

  private URI at(String path) {
    return URI.create("http://images.test:" + port + path);
  }

  @Test
  void aLoopbackHttpsUrlIsRefusedWithoutConnecting() {
    try (RemoteImageFetcher f = fetcher(AddressPolicy.strict(), ImageLimits.defaults())) {
      assertThatThrownBy(() -> f.fetch(URI.create("https://127.0.0.1:" + port + "/cat.png")))
          .isInstanceOf(ImageRejectedException.class)
          .hasMessageContaining("loopback");
      assertThatThrownBy(() -> f.fetch(URI.create("https://[::1]:" + port + "/cat.png")))
          .isInstanceOf(ImageRejectedException.class)
          .hasMessageContaining("loopback");
    }
    assertThat(requests).hasValue(0);
  }

  @Test
  void aNameResolvingToAForbiddenAddressIsRefusedAtConnectTime() throws Exception {
    dns.put("cdn.example", new InetAddress[] {InetAddress.getByName("10.1.2.3")});
    dns.put(
        "mixed.example",
        new InetAddress[] {
          InetAddress.getByName("93.184.216.34"), InetAddress.getLoopbackAddress()
        });
    dns.put("metadata.example", new InetAddress[] {InetAddress.getByName("169.254.169.254")});
    AddressPolicy strictButHttp = AddressPolicy.builder().allowHttp(true).build();
    try (RemoteImageFetcher f = fetcher(strictButHttp, ImageLimits.defaults())) {
      // every URL passes the submit-time check: only the resolved address is forbidden
      for (String host : List.of("cdn.example", "mixed.example", "metadata.example")) {
        URI u = URI.create("http://" + host + ":" + port + "/cat.png");
        assertThat(strictButHttp.checkUrl(u)).isEmpty();
        assertThatThrownBy(() -> f.fetch(u))
            .as(host)
            .isInstanceOf(ImageRejectedException.class)
            .hasMessageContaining("host " + host + " resolves to");
      }
      // images.test resolves to loopback and is not allowed by this policy
      assertThatThrownBy(() -> f.fetch(at("/cat.png"))).hasMessageContaining("loopback");
    }
    assertThat(requests).hasValue(0);
  }

  @Test
  void fetchesAnImageFollowingRedirectsThatStayAllowed() throws Exception {
    try (RemoteImageFetcher f = allowingTheTestServer()) {
      RemoteImageFetcher.Fetched got = f.fetch(at("/to-cat"));
      assertThat(got.info()).isEqualTo(new ImageInfo(ImageFormat.PNG, 12, 8));
      assertThat(got.uri().getPath()).isEqualTo("/cat.png");
      assertThat(got.bytes()).isEqualTo(TestImages.png(12, 8));
    }
  }

  @Test
  void aRedirectToAForbiddenAddressIsRefused() {
    dns.put("intranet.test", new InetAddress[] {InetAddress.getLoopbackAddress()});
    try (RemoteImageFetcher f = allowingTheTestServer()) {
      assertThatThrownBy(() -> f.fetch(at("/to-loopback")))
          .isInstanceOf(ImageRejectedException.class)
          .hasMessageContaining("127.0.0.1 is a loopback");
      int before = requests.get();
      assertThatThrownBy(() -> f.fetch(at("/to-private-name")))
          .isInstanceOf(ImageRejectedException.class)
          .hasMessageContaining("host intranet.test resolves to 127.0.0.1");
      assertThat(requests.get()).isEqualTo(before + 1); // only the redirecting request
    }
  }

  @Test
  void sizesAnswersAndTimeoutsAreJudged() {
    try (RemoteImageFetcher f =
        fetcher(
            AddressPolicy.builder().allowHttp(true).allow("images.test").build(),
            new ImageLimits(2048, 8192, 50_000_000))) {
      assertThatThrownBy(() -> f.fetch(at("/big")))
          .isInstanceOf(ImageRejectedException.class)
          .hasMessageContaining("4096 bytes; the limit is 2 KiB");
      assertThatThrownBy(() -> f.fetch(at("/big-chunked")))
          .isInstanceOf(ImageRejectedException.class)
          .hasMessageContaining("larger than the limit of 2 KiB");
      assertThatThrownBy(() -> f.fetch(at("/text")))
          .isInstanceOf(ImageRejectedException.class)
          .hasMessageContaining("not a PNG, JPEG or WebP");
      assertThatThrownBy(() -> f.fetch(at("/gone")))
          .isInstanceOf(ImageRejectedException.class)
          .hasMessageContaining("answered 404");
      assertThatThrownBy(() -> f.fetch(at("/busy")))
          .isInstanceOf(IOException.class)
          .hasMessageContaining("answered 503");
      assertThatThrownBy(() -> f.fetch(at("/slow")))
          .isInstanceOf(IOException.class)
          .isNotInstanceOf(ImageRejectedException.class);
    }
  }
}
