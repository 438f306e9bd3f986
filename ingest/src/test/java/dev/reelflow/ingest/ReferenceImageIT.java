package dev.reelflow.ingest;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.reelflow.schemas.avro.RenderRequest;
import dev.reelflow.stack.LocalStackExtension;
import dev.reelflow.storage.ArtifactKeys;
import dev.reelflow.storage.ArtifactStore;
import dev.reelflow.storage.ObjectAttributes;
import dev.reelflow.storage.StoredObject;
import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.util.Arrays;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Image-to-video inputs at submit, against the embedded S3 endpoint (Kafka replaced by {@link
 * InMemoryPublisher}): an inline image is stored under the render's prefix and the request carries
 * its key; a stored object of the tenant is read and checked; everything unusable is a 422 naming
 * {@code imageUrl} and publishes nothing.
 */
class ReferenceImageIT {
  @RegisterExtension
  static final LocalStackExtension STACK = LocalStackExtension.builder().s3().build();

  static InMemoryPublisher publisher;
  static IngestServer server;
  static ApiClient a;
  static ArtifactStore store;

  @BeforeAll
  static void start() throws Exception {
    store =
        ArtifactStore.builder()
            .endpoint(STACK.stack().s3Endpoint())
            .credentials(STACK.stack().s3AccessKey(), STACK.stack().s3SecretKey())
            .bucket(STACK.stack().bucket())
            .build();
    store.ensureBucket();
    publisher = new InMemoryPublisher();
    IngestConfig config =
        IngestConfig.builder()
            .port(0)
            .bodyMaxBytes(64 * 1024)
            .s3(
                STACK.stack().s3Endpoint(),
                STACK.stack().s3AccessKey(),
                STACK.stack().s3SecretKey(),
                STACK.stack().bucket())
            .set(IngestConfig.IMAGE_MAX_BYTES, Integer.toString(256 * 1024))
            .set(IngestConfig.WEBHOOKS_ENABLED, "false")
            .build();
    server =
        IngestServer.builder(config)
            .publisher(publisher)
            .apiKeys(
                ApiKeys.of(Map.of("key-acme", new Tenant("acme", "s", 10_000, 10_000, 1_000_000))))
            .withoutKafkaViews()
            .build()
            .start();
    a = new ApiClient(server.baseUrl(), "key-acme");
  }

  @AfterAll
  static void stop() {
    if (server != null) {
      server.close();
    }
    if (store != null) {
      store.close();
    }
  }

  @BeforeEach
  void reset() {
    synchronized (publisher) {
      publisher.records.clear();
    }
  }

  /** An image of pseudo-random pixels (so it does not compress away). */
  static byte[] encode(int w, int h, String type) throws Exception {
    BufferedImage im = new BufferedImage(w, h, BufferedImage.TYPE_INT_RGB);
    java.util.Random r = new java.util.Random(w * 31L + h);
    for (int y = 0; y < h; y++) {
      for (int x = 0; x < w; x++) {
        im.setRGB(x, y, r.nextInt() & 0xffffff);
      }
    }
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    ImageIO.write(im, type, out);
    return out.toByteArray();
  }

  static String dataUri(String type, byte[] b) {
    return "data:" + type + ";base64," + Base64.getEncoder().encodeToString(b);
  }

  static String body(String imageUrl) {
    return "{\"prompt\":\"the cat starts to dance\",\"mode\":\"i2v\",\"resolution\":\"preview\","
        + "\"frames\":17,\"imageUrl\":\""
        + imageUrl
        + "\"}";
  }

  private static RenderRequest lastRequest() {
    List<EventPublisher.Outgoing> out = publisher.on("render.requests");
    assertThat(out).hasSize(1);
    return (RenderRequest) out.get(0).value();
  }

  private static void assertRefused(String imageUrl, String message) {
    ApiClient.Answer r = a.post("/v1/renders", "application/json", body(imageUrl));
    IngestApiTest.assertProblem(r, 422);
    JsonNode e = r.json().get("errors").get(0);
    assertThat(e.get("field").asText()).as(r.body()).isEqualTo("imageUrl");
    assertThat(e.get("message").asText()).as(r.body()).contains(message);
  }

  @Test
  void anInlineImageIsStoredUnderTheRendersPrefixAndKafkaCarriesItsKey() throws Exception {
    byte[] png = encode(40, 30, "png");
    ApiClient.Answer r = a.post("/v1/renders", "application/json", body(dataUri("image/png", png)));
    assertThat(r.status()).as(r.body()).isEqualTo(202);
    String id = r.json().get("id").asText();
    RenderRequest req = lastRequest();
    String key = ArtifactKeys.referenceImage("acme", req.getSubmittedAt(), id, "png");
    assertThat(req.getParams().getImageUrl())
        .isEqualTo("s3://" + STACK.stack().bucket() + "/" + key);
    assertThat(key).startsWith("acme/").endsWith("/" + id + "/input/reference.png");
    assertThat(store.getBytes(key, true)).isEqualTo(png);
    StoredObject o = store.stat(key);
    assertThat(o.contentType()).isEqualTo("image/png");
    assertThat(o.requestId()).isEqualTo(id);
    // the Kafka record is small: the bytes stayed in S3
    assertThat(req.toString()).doesNotContain("base64");
  }

  @Test
  void aStoredObjectOfTheTenantIsCheckedAndPassedOn() throws Exception {
    byte[] jpeg = encode(64, 48, "jpg");
    store.put("acme/uploads/cat.jpg", jpeg, ObjectAttributes.ofType("image/jpeg"));
    String url = "s3://" + STACK.stack().bucket() + "/acme/uploads/cat.jpg";
    ApiClient.Answer r = a.post("/v1/renders", "application/json", body(url));
    assertThat(r.status()).as(r.body()).isEqualTo(202);
    assertThat(lastRequest().getParams().getImageUrl()).isEqualTo(url);
    reset();
    store.put("acme/uploads/notes.txt", "hello".getBytes(), ObjectAttributes.ofType("text/plain"));
    assertRefused(
        "s3://" + STACK.stack().bucket() + "/acme/uploads/notes.txt", "not a PNG, JPEG or WebP");
    assertRefused(
        "s3://" + STACK.stack().bucket() + "/acme/uploads/absent.png", "there is no object");
    assertThat(publisher.on("render.requests")).isEmpty();
  }

  @Test
  void unusableImagesAre422NamingTheFieldAndPublishNothing() throws Exception {
    byte[] png = encode(40, 30, "png");
    String b = STACK.stack().bucket();
    assertRefused("data:image/png;base64,!!!!", "base64 is invalid");
    assertRefused(dataUri("image/jpeg", png), "says image/jpeg but holds a PNG");
    assertRefused(dataUri("image/gif", png), "is not image/png, image/jpeg or image/webp");
    assertRefused(dataUri("image/png", Arrays.copyOf(png, png.length - 10)), "truncated");
    // just over the limit (the size is judged before the content): a 422; far larger bodies are
    // refused with 413 before they are parsed
    assertRefused(dataUri("image/png", Arrays.copyOf(png, 280 * 1024)), "the limit is 256 KiB");
    assertRefused("s3://" + b + "/globex/uploads/cat.png", "must be under your prefix acme/");
    assertRefused("s3://" + b + "/acme/../globex/cat.png", "'..'");
    assertRefused("s3://other-bucket/acme/cat.png", "must be in the render bucket");
    assertRefused("https://127.0.0.1/cat.png", "loopback");
    assertRefused("https://169.254.169.254/latest/meta-data/", "cloud metadata");
    assertRefused("https://10.0.0.7/cat.png", "private");
    assertRefused("https://localhost:8443/cat.png", "local machine");
    assertRefused("http://images.example.com/cat.png", "https");
    assertRefused("file:///etc/passwd", "data: URI");
    assertThat(publisher.on("render.requests")).isEmpty();
  }

  @Test
  void aBatchStoresItsImagesOnlyOnceEveryRowValidatedAndKeepsRowOrder() throws Exception {
    byte[] png = encode(40, 30, "png");
    String text = "{\"prompt\":\"a plain row\",\"resolution\":\"preview\",\"frames\":17}\n";
    String image = body(dataUri("image/png", png)) + "\n";
    int objects = store.list("acme/").size();
    int abortedRecords = publisher.abortedRecords;
    ApiClient.Answer bad =
        a.post(
            "/v1/batches",
            "application/x-ndjson",
            text + image + "{\"prompt\":\"x\",\"frames\":\"many\"}\n");
    IngestApiTest.assertProblem(bad, 422);
    // row 0 had gone out into the aborted transaction; row 1's image was never stored
    assertThat(publisher.abortedRecords - abortedRecords).isEqualTo(1);
    assertThat(store.list("acme/")).hasSize(objects);

    ApiClient.Answer ok = a.post("/v1/batches", "application/x-ndjson", text + image + text);
    assertThat(ok.status()).as(ok.body()).isEqualTo(202);
    String batchId = ok.json().get("batchId").asText();
    List<EventPublisher.Outgoing> out = publisher.on("render.requests");
    assertThat(out)
        .extracting(EventPublisher.Outgoing::key)
        .containsExactly(batchId + "-000000", batchId + "-000001", batchId + "-000002");
    RenderRequest withImage = (RenderRequest) out.get(1).value();
    assertThat(withImage.getBatchRow()).isEqualTo(1);
    assertThat(withImage.getParams().getImageUrl())
        .startsWith("s3://" + STACK.stack().bucket() + "/acme/");
    assertThat(store.list("acme/")).hasSize(objects + 1);
  }

  @Test
  void aLargeInlineImageMayExceedTheUsualBodyLimitButOtherFieldsMayNot() throws Exception {
    byte[] jpeg = encode(400, 300, "jpg");
    assertThat(jpeg.length).isGreaterThan(64 * 1024).isLessThan(256 * 1024);
    ApiClient.Answer ok =
        a.post("/v1/renders", "application/json", body(dataUri("image/jpeg", jpeg)));
    assertThat(ok.status()).as(ok.body()).isEqualTo(202);
    String huge =
        "{\"prompt\":\"p\",\"negativePrompt\":\""
            + "x".repeat(70_000)
            + "\",\"mode\":\"i2v\",\"imageUrl\":\"https://cdn.example.com/a.png\"}";
    IngestApiTest.assertProblem(a.post("/v1/renders", "application/json", huge), 413);
  }

  @Test
  void schedulesRefuseInlineImages() throws Exception {
    String tpl =
        "{\"name\":\"nightly\",\"cron\":\"0 2 * * *\",\"template\":"
            + body(dataUri("image/png", encode(8, 8, "png")))
            + "}";
    ApiClient.Answer r = a.post("/v1/schedules", "application/json", tpl);
    IngestApiTest.assertProblem(r, 422);
    assertThat(r.json().get("errors").get(0).get("field").asText()).isEqualTo("template.imageUrl");
    assertThat(r.json().get("errors").get(0).get("message").asText())
        .contains("a schedule cannot carry an inline image");
  }
}
