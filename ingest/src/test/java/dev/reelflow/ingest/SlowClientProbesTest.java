package dev.reelflow.ingest;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Issue 17's slow-client probes (slowloris) against one ingest instance (in-memory publisher) with
 * short limits: 1 s {@code ingest.http.header-timeout}, 3 s {@code ingest.http.idle-timeout}, 1024
 * bytes/s {@code ingest.http.min-body-rate}. Clients trickling their headers are closed without an
 * answer, clients trickling or stalling their body get a 408 and a closed connection, and other
 * clients are served meanwhile; nothing is published for any of them.
 */
class SlowClientProbesTest {
  static final String KEY = "slow-probe-key";
  static final Duration HEADER_TIMEOUT = Duration.ofSeconds(1);
  static final Duration IDLE_TIMEOUT = Duration.ofSeconds(3);
  static final int SLOW_CLIENTS = 40;
  static InMemoryPublisher publisher;
  static IngestServer server;
  static ApiClient client;

  @BeforeAll
  static void start() throws Exception {
    publisher = new InMemoryPublisher();
    server =
        IngestServer.builder(
                IngestConfig.builder()
                    .port(0)
                    .httpTimeouts(IDLE_TIMEOUT, HEADER_TIMEOUT, 1024)
                    .build())
            .publisher(publisher)
            .apiKeys(ApiKeys.of(Map.of(KEY, new Tenant("acme", "sa", 10_000, 10_000, 1_000_000))))
            .withoutKafkaViews()
            .build()
            .start();
    client = new ApiClient(server.baseUrl(), KEY);
  }

  @AfterAll
  static void stop() {
    server.close();
  }

  @BeforeEach
  void reset() {
    synchronized (publisher) {
      publisher.records.clear();
    }
  }

  static final String BODY =
      "{\"prompt\":\"a slow snail\",\"resolution\":\"preview\",\"frames\":17}";

  Socket open() throws IOException {
    URI u = URI.create(server.baseUrl());
    Socket s = new Socket();
    s.connect(new InetSocketAddress(u.getHost(), u.getPort()), 2_000);
    s.setSoTimeout(15_000);
    return s;
  }

  static void write(Socket s, String text) throws IOException {
    OutputStream out = s.getOutputStream();
    out.write(text.getBytes(StandardCharsets.ISO_8859_1));
    out.flush();
  }

  /** Everything the server sends until it closes the connection. */
  static String readToClose(Socket s) throws IOException {
    ByteArrayOutputStream all = new ByteArrayOutputStream();
    InputStream in = s.getInputStream();
    byte[] buf = new byte[8192];
    int n;
    try {
      while ((n = in.read(buf)) >= 0) {
        all.write(buf, 0, n);
      }
    } catch (java.net.SocketException reset) {
      // a reset is a close too
    }
    return all.toString(StandardCharsets.ISO_8859_1);
  }

  /** Whether the server closed the connection: a write eventually fails or a read sees EOF. */
  static boolean closedByServer(Socket s) {
    try {
      s.setSoTimeout(100);
      int r = s.getInputStream().read();
      return r < 0;
    } catch (java.net.SocketTimeoutException stillOpen) {
      return false;
    } catch (IOException reset) {
      return true;
    }
  }

  @Test
  void clientsTricklingTheirHeadersAreClosedWithoutStarvingOthers() throws Exception {
    List<Socket> slow = new ArrayList<>();
    long opened = System.nanoTime();
    for (int i = 0; i < SLOW_CLIENTS; i++) {
      Socket s = open();
      write(s, "POST /v1/renders HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + KEY + "\r\n");
      slow.add(s);
    }
    // Keep trickling one header line per slow client every 200 ms (each resets an idle timer).
    List<Long> servedMillis = new ArrayList<>();
    int line = 0;
    while (System.nanoTime() - opened < HEADER_TIMEOUT.toNanos() * 3) {
      for (Socket s : slow) {
        try {
          write(s, "X-Slow-" + line + ": y\r\n");
        } catch (IOException closed) {
          // cut off already
        }
      }
      line++;
      long t = System.nanoTime();
      ApiClient.Answer ok = client.post("/v1/renders", "application/json", BODY);
      assertThat(ok.status()).as(ok.body()).isEqualTo(202);
      servedMillis.add((System.nanoTime() - t) / 1_000_000);
      Thread.sleep(200);
    }
    long stillOpen = slow.stream().filter(s -> !closedByServer(s)).count();
    for (Socket s : slow) {
      String answer = readToClose(s);
      assertThat(answer).as("a connection closed for a late request head gets no answer").isEmpty();
      s.close();
    }
    assertThat(stillOpen).as("slow connections left open after 3 header timeouts").isZero();
    // Other clients were served while the slow ones were open (no thread held by them).
    assertThat(servedMillis).isNotEmpty();
    // Only the well-behaved requests were published.
    assertThat(publisher.size()).isEqualTo(servedMillis.size());
  }

  @Test
  void clientsTricklingTheirBodyGet408AndAreClosedWithoutStarvingOthers() throws Exception {
    String head =
        "POST /v1/renders HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer "
            + KEY
            + "\r\nContent-Type: application/json\r\nContent-Length: "
            + BODY.length()
            + "\r\n\r\n";
    List<Socket> slow = new ArrayList<>();
    for (int i = 0; i < SLOW_CLIENTS; i++) {
      Socket s = open();
      write(s, head + BODY.substring(0, 2));
      slow.add(s);
    }
    long start = System.nanoTime();
    int pos = 2;
    int served = 0;
    while (System.nanoTime() - start < HEADER_TIMEOUT.toNanos() * 2 && pos < BODY.length() - 1) {
      for (Socket s : slow) {
        try {
          write(s, BODY.substring(pos, pos + 1)); // 5 bytes/s, far below 1024
        } catch (IOException closed) {
          // answered and closed already
        }
      }
      pos++;
      ApiClient.Answer ok = client.post("/v1/renders", "application/json", BODY);
      assertThat(ok.status()).as("a well-behaved client meanwhile: %s", ok.body()).isEqualTo(202);
      served++;
      Thread.sleep(200);
    }
    for (Socket s : slow) {
      try {
        write(s, BODY.substring(pos, pos + 1)); // a read after the grace fails the rate check
      } catch (IOException closed) {
        // answered and closed already
      }
    }
    for (Socket s : slow) {
      String answer = readToClose(s);
      assertThat(answer).startsWith("HTTP/1.1 408");
      assertThat(answer).contains("application/problem+json").contains("ingest.http.min-body-rate");
      s.close();
    }
    assertThat(publisher.size()).isEqualTo(served);
  }

  @Test
  void aClientThatStopsSendingItsBodyGets408AfterTheIdleTimeout() throws Exception {
    try (Socket s = open()) {
      long t = System.nanoTime();
      write(
          s,
          "POST /v1/renders HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer "
              + KEY
              + "\r\nContent-Type: application/json\r\nContent-Length: 500\r\n\r\n{\"pro");
      String answer = readToClose(s);
      long ms = (System.nanoTime() - t) / 1_000_000;
      assertThat(answer).startsWith("HTTP/1.1 408");
      assertThat(ms).isGreaterThanOrEqualTo(IDLE_TIMEOUT.toMillis() - 100);
    }
    assertThat(publisher.size()).isZero();
  }
}
