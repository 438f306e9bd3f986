package dev.reelflow.ingest;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** API keys, the local tenant, limits, configuration and webhook signing. */
class TenantSetupTest {

  @Test
  void localTenantIsCreatedOnceAndItsKeyFileHoldsOnlyTheHash(@TempDir Path dir) throws Exception {
    LocalTenant t = LocalTenant.ensure(dir.resolve(".reelflow"));
    assertThat(t.tenant()).isEqualTo("demo");
    assertThat(t.apiKey()).startsWith("rf_");
    String keyFile = Files.readString(t.apiKeysFile());
    assertThat(keyFile).doesNotContain(t.apiKey()).contains("sha256:" + ApiKeys.hash(t.apiKey()));
    assertThat(LocalTenant.ensure(dir.resolve(".reelflow")).apiKey()).isEqualTo(t.apiKey());
    ApiKeys keys = ApiKeys.load(IngestConfig.builder().apiKeysFile(t.apiKeysFile()).build());
    assertThat(keys.authenticate(t.apiKey()).map(Tenant::id)).contains("demo");
    assertThat(keys.authenticate(t.apiKey() + "x")).isEmpty();
    assertThat(keys.tenant("demo").map(Tenant::webhookSecret)).contains(t.webhookSecret());
  }

  @Test
  void inlineKeysAndPerTenantOverrides(@TempDir Path dir) throws Exception {
    Path f = dir.resolve("keys.json");
    Files.writeString(
        f,
        "{\"tenants\":[{\"tenant\":\"acme\",\"keys\":[\"sha256:"
            + ApiKeys.hash("k1")
            + "\"],"
            + "\"webhookSecret\":\"s\",\"rateLimitPerSecond\":2,\"burst\":3,\"maxInFlight\":4}]}");
    IngestConfig c =
        IngestConfig.builder()
            .apiKeysFile(f)
            .apiKeys("globex:" + ApiKeys.hash("k2") + ":sec")
            .build();
    ApiKeys keys = ApiKeys.load(c);
    Tenant acme = keys.authenticate("k1").orElseThrow();
    assertThat(acme.ratePerSecond()).isEqualTo(2);
    assertThat(acme.burst()).isEqualTo(3);
    assertThat(acme.maxInFlight()).isEqualTo(4);
    assertThat(keys.authenticate("k2").map(Tenant::webhookSecret)).contains("sec");
    assertThatThrownBy(() -> ApiKeys.load(IngestConfig.builder().apiKeys("Bad Tenant:abc").build()))
        .isInstanceOf(IllegalArgumentException.class);
  }

  @Test
  void tokenBucketRefillsAtTheTenantsRate() {
    AtomicLong clock = new AtomicLong();
    TenantLimits limits = new TenantLimits(clock::get);
    Tenant t = new Tenant("t", "", 2, 2, 10);
    limits.acquire(t);
    limits.acquire(t);
    assertThatThrownBy(() -> limits.acquire(t))
        .isInstanceOfSatisfying(
            ApiException.class,
            e -> {
              assertThat(e.status()).isEqualTo(429);
              assertThat(e.headers()).containsEntry("Retry-After", "1");
            });
    clock.addAndGet(Duration.ofMillis(500).toNanos());
    limits.acquire(t);
    assertThatThrownBy(() -> TenantLimits.checkQuota(t, 8, 3)).isInstanceOf(ApiException.class);
    TenantLimits.checkQuota(t, 8, 2);
  }

  @Test
  void configReadsEnvironmentOverridesAndMasksSecrets(@TempDir Path dir) throws Exception {
    Path props = dir.resolve("ingest.properties");
    Files.writeString(props, "ingest.port=9000\ns3.secret-key=topsecret\n");
    IngestConfig c =
        IngestConfig.load(
            props,
            Map.of(
                "REELFLOW_INGEST_PORT",
                "9100",
                "REELFLOW_INGEST_API_KEYS",
                "acme:" + "a".repeat(64) + ":whsec"));
    assertThat(c.port()).isEqualTo(9100);
    assertThat(c.describe())
        .doesNotContain("topsecret")
        .doesNotContain("whsec")
        .contains("ingest.api-keys = ********  (environment REELFLOW_INGEST_API_KEYS)");
    assertThatThrownBy(() -> IngestConfig.builder().port(70000).build())
        .isInstanceOf(IllegalArgumentException.class);
  }

  @Test
  void webhookSignatureIsHmacSha256OfTheBodyAndBackoffDoubles() {
    // RFC 4231 test case 2.
    assertThat(WebhookDispatcher.sign("Jefe", BodyFuzzer.bytes("what do ya want for nothing?")))
        .isEqualTo("5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
    Duration one = Duration.ofSeconds(1);
    Duration max = Duration.ofMinutes(10);
    assertThat(WebhookDispatcher.backoff(one, max, 1)).isEqualTo(Duration.ofSeconds(1));
    assertThat(WebhookDispatcher.backoff(one, max, 4)).isEqualTo(Duration.ofSeconds(8));
    assertThat(WebhookDispatcher.backoff(one, max, 30)).isEqualTo(Duration.ofMinutes(10));
    // Sum of delays before giving up covers more than an hour.
    long total = 0;
    int n = 1;
    while (total < Duration.ofHours(2).toMillis()) {
      total += WebhookDispatcher.backoff(one, max, n++).toMillis();
    }
    assertThat(n).isGreaterThan(12);
  }
}
