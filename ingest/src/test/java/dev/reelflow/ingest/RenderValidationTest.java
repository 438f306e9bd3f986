package dev.reelflow.ingest;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import dev.reelflow.schemas.WireNumbers;
import dev.reelflow.schemas.avro.AspectRatio;
import dev.reelflow.schemas.avro.Mode;
import dev.reelflow.schemas.avro.Resolution;
import dev.reelflow.schemas.avro.UpscaleTarget;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.Test;

class RenderValidationTest {
  static final Instant NOW = Instant.parse("2026-11-25T12:00:00Z");

  static JsonNode json(String s) throws Exception {
    return IngestServer.newMapper().readTree(s);
  }

  static List<String> fields(String body) throws Exception {
    return RenderValidation.validate(json(body), NOW).errors().stream()
        .map(FieldError::field)
        .toList();
  }

  @Test
  void defaultsFollowTheApi() throws Exception {
    RenderSubmission s = RenderValidation.validate(json("{\"prompt\":\"fox\"}"), NOW).submission();
    assertThat(s.mode()).isEqualTo(Mode.T2V);
    assertThat(s.resolution()).isEqualTo(Resolution.P480);
    assertThat(s.aspectRatio()).isEqualTo(AspectRatio.AR_16_9);
    assertThat(s.frames()).isEqualTo(121);
    assertThat(s.fps()).isEqualTo(24);
    assertThat(s.upscale()).isEqualTo(UpscaleTarget.P1080);
    assertThat(s.priority()).isEqualTo(5);
    assertThat(s.seed()).isNull();
    assertThat(s.labels()).isEmpty();
  }

  @Test
  void callbackUrlsThatReachNonPublicAddressesAreRefusedNamingTheField() throws Exception {
    IngestConfig config =
        IngestConfig.builder()
            .bootstrapServers("kafka.internal:9092")
            .schemaRegistryUrl("http://registry.internal:8081")
            .s3("http://10.1.2.3:9000", "a", "s", "reelflow")
            .build();
    ImageInputs rules = ImageInputs.of(config, java.util.Optional.empty());
    for (String url :
        List.of(
            "http://hooks.example.com/x", // https only
            "https://127.0.0.1/x",
            "https://localhost:8443/x",
            "https://169.254.169.254/latest/meta-data/",
            "https://10.0.0.7/x",
            "https://192.168.1.1/x",
            "https://224.0.0.1/x",
            "https://[::1]/x",
            "https://[fe80::1]/x",
            "https://[fd00::1]/x",
            "https://[::ffff:127.0.0.1]/x",
            "https://[::ffff:169.254.169.254]/x",
            "https://2130706433/x", // 127.0.0.1 as one number
            "https://user:pw@hooks.example.com/x",
            "https://kafka.internal/x", // the pipeline's own services
            "https://registry.internal/x")) {
      List<FieldError> errors =
          RenderValidation.validate(
                  json("{\"prompt\":\"p\",\"callbackUrl\":\"" + url + "\"}"),
                  NOW,
                  rules,
                  PromptLength.characters(),
                  null,
                  true)
              .errors();
      assertThat(errors).as(url).extracting(FieldError::field).containsExactly("callbackUrl");
    }
    assertThat(
            RenderValidation.validate(
                    json("{\"prompt\":\"p\",\"callbackUrl\":\"https://hooks.example.com/x\"}"),
                    NOW,
                    rules,
                    PromptLength.characters(),
                    null,
                    true)
                .errors())
        .isEmpty();
    // An operator allows the local stack's own test receiver explicitly.
    ImageInputs local =
        ImageInputs.of(
            IngestConfig.builder().webhookAllow(true, "127.0.0.1").build(),
            java.util.Optional.empty());
    assertThat(
            RenderValidation.validate(
                    json("{\"prompt\":\"p\",\"callbackUrl\":\"http://127.0.0.1:9/hook\"}"),
                    NOW,
                    local,
                    PromptLength.characters(),
                    null,
                    true)
                .errors())
        .isEmpty();
  }

  @Test
  void everyApiStringMaps() throws Exception {
    RenderSubmission s =
        RenderValidation.validate(
                json(
                    "{\"prompt\":\"fox\",\"mode\":\"i2v\",\"imageUrl\":\"https://x.test/a.png\",\"resolution\":\"preview\","
                        + "\"aspectRatio\":\"9:16\",\"frames\":241,\"upscale\":\"none\",\"seed\":7,\"steps\":8,"
                        + "\"guidanceScale\":1.5,\"deadline\":\"2026-11-26T00:00:00+01:00\",\"labels\":{\"a.b/c\":\"v\"},"
                        + "\"callbackUrl\":\"https://hooks.test/x\"}"),
                NOW)
            .submission();
    assertThat(s.mode()).isEqualTo(Mode.I2V);
    assertThat(s.resolution()).isEqualTo(Resolution.PREVIEW);
    assertThat(s.aspectRatio()).isEqualTo(AspectRatio.AR_9_16);
    assertThat(s.frames()).isEqualTo(241);
    assertThat(s.upscale()).isEqualTo(UpscaleTarget.NONE);
    assertThat(s.seed()).isEqualTo(7L);
    assertThat(s.guidanceScale()).isEqualTo(1.5f);
    assertThat(s.deadline()).isEqualTo(Instant.parse("2026-11-25T23:00:00Z").toEpochMilli());
  }

  @Test
  void eachBadFieldIsNamed() throws Exception {
    assertThat(fields("{}")).containsExactly("prompt");
    assertThat(fields("{\"prompt\":\"   \"}")).containsExactly("prompt");
    assertThat(fields("{\"prompt\":\"" + "x".repeat(4001) + "\"}")).containsExactly("prompt");
    assertThat(fields("{\"prompt\":\"" + "🦊".repeat(4000) + "\"}")).isEmpty();
    assertThat(fields("{\"prompt\":\"p\",\"frames\":120}")).containsExactly("frames");
    assertThat(fields("{\"prompt\":\"p\",\"frames\":245}")).containsExactly("frames");
    assertThat(fields("{\"prompt\":\"p\",\"frames\":17.0}")).containsExactly("frames");
    assertThat(fields("{\"prompt\":\"p\",\"priority\":\"5\"}")).containsExactly("priority");
    assertThat(fields("{\"prompt\":\"p\",\"resolution\":\"1080p\"}")).containsExactly("resolution");
    assertThat(fields("{\"prompt\":\"p\",\"mode\":\"i2v\"}")).containsExactly("imageUrl");
    assertThat(fields("{\"prompt\":\"p\",\"imageUrl\":\"https://x.test/a.png\"}"))
        .containsExactly("imageUrl");
    assertThat(fields("{\"prompt\":\"p\",\"callbackUrl\":\"ftp://x/y\"}"))
        .containsExactly("callbackUrl");
    assertThat(fields("{\"prompt\":\"p\",\"deadline\":\"2020-01-01T00:00:00Z\"}"))
        .containsExactly("deadline");
    assertThat(fields("{\"prompt\":\"p\",\"labels\":{\"k\":1}}")).containsExactly("labels.k");
    assertThat(fields("{\"prompt\":\"p\",\"seed\":-1}")).containsExactly("seed");
    assertThat(fields("{\"prompt\":\"p\",\"seed\":18446744073709551615}")).containsExactly("seed");
    assertThat(fields("{\"prompt\":\"p\",\"Prompt\":\"q\"}")).containsExactly("Prompt");
    assertThat(fields("[]")).containsExactly("");
  }

  @Test
  void seedsAboveTwoToThe53MinusOneAreRefusedNamingTheLimit() throws Exception {
    RenderSubmission max =
        RenderValidation.validate(json("{\"prompt\":\"p\",\"seed\":9007199254740990}"), NOW)
            .submission();
    assertThat(max.seed()).isEqualTo(WireNumbers.MAX_SEED).isEqualTo((1L << 53) - 2);
    for (String seed : List.of("9007199254740991", "9223372036854775807", "1e300")) {
      List<FieldError> errors =
          RenderValidation.validate(json("{\"prompt\":\"p\",\"seed\":" + seed + "}"), NOW).errors();
      assertThat(errors).extracting(FieldError::field).containsExactly("seed");
      assertThat(errors.get(0).message()).contains("9007199254740990");
      if (!seed.contains("e")) {
        assertThat(errors.get(0).message()).contains("2^53 - 2", "JavaScript", "got " + seed);
      }
    }
    // ReelFlow's own seeds stay in range too.
    for (int i = 0; i < 1000; i++) {
      assertThat(Ids.randomSeed()).isBetween(0L, WireNumbers.MAX_SEED);
      assertThat(Ids.derivedSeed("r-" + i)).isBetween(0L, WireNumbers.MAX_SEED);
    }
  }

  @Test
  void deadlinesBeyondTheYear9999AreRefused() throws Exception {
    assertThat(fields("{\"prompt\":\"p\",\"deadline\":\"9999-12-31T23:59:59Z\"}")).isEmpty();
    List<FieldError> errors =
        RenderValidation.validate(
                json("{\"prompt\":\"p\",\"deadline\":\"+999999999-12-31T23:59:59Z\"}"), NOW)
            .errors();
    assertThat(errors).extracting(FieldError::field).containsExactly("deadline");
    assertThat(errors.get(0).message()).contains("9999-12-31T23:59:59.999Z");
  }

  @Test
  void explicitNullsOfOptionalFieldsMeanAbsent() throws Exception {
    assertThat(
            fields(
                "{\"prompt\":\"p\",\"seed\":null,\"labels\":null,\"deadline\":null,\"steps\":null}"))
        .isEmpty();
  }

  @Test
  void fingerprintIsStableForTheSameMeaningAndDiffersOtherwise() throws Exception {
    String a =
        RenderValidation.validate(
                json("{\"prompt\":\"p\",\"labels\":{\"x\":\"1\",\"y\":\"2\"}}"), NOW)
            .submission()
            .fingerprint();
    String b =
        RenderValidation.validate(
                json("{\"labels\":{\"y\":\"2\",\"x\":\"1\"},\"prompt\":\"p\",\"frames\":121}"), NOW)
            .submission()
            .fingerprint();
    String c =
        RenderValidation.validate(
                json("{\"prompt\":\"p\",\"labels\":{\"x\":\"1\",\"y\":\"3\"}}"), NOW)
            .submission()
            .fingerprint();
    String d =
        RenderValidation.validate(
                json("{\"prompt\":\"p\",\"seed\":0,\"labels\":{\"x\":\"1\",\"y\":\"2\"}}"), NOW)
            .submission()
            .fingerprint();
    assertThat(a).isEqualTo(b).isNotEqualTo(c).isNotEqualTo(d);
  }

  @Test
  void idempotentIdsAndSeedsAreDerivedFromTenantAndKey() {
    assertThat(Ids.derived("r", "acme", "k1")).isEqualTo(Ids.derived("r", "acme", "k1"));
    assertThat(Ids.derived("r", "acme", "k1")).isNotEqualTo(Ids.derived("r", "globex", "k1"));
    assertThat(Ids.derived("r", "acme", "k1")).isNotEqualTo(Ids.derived("r", "acme", "k2"));
    assertThat(Ids.derived("r", "acme", "k1")).matches("r-[a-z2-7]{26}");
    assertThat(Ids.derivedSeed("x")).isEqualTo(Ids.derivedSeed("x")).isNotNegative();
    assertThat(Ids.batchRow("b-abc", 17)).isEqualTo("b-abc-000017");
    assertThat(Ids.random("r")).isNotEqualTo(Ids.random("r"));
  }

  @Test
  void ledgerRemembersTheFirstUseAndRoundTripsItsRecord() {
    IdempotencyLedger ledger = new IdempotencyLedger(IngestServer.newMapper());
    IdempotencyLedger.Entry e = new IdempotencyLedger.Entry("acme", "r-1", "fp", "render", 1, 5L);
    String key = IdempotencyLedger.recordKey("acme", "k");
    ledger.apply(key, ledger.encode(e));
    ledger.apply(
        key, ledger.encode(new IdempotencyLedger.Entry("acme", "r-2", "other", "render", 1, 6L)));
    assertThat(ledger.find("acme", "k")).contains(e);
    assertThat(ledger.find("globex", "k")).isEmpty();
  }

  @Test
  void changeAcceptsOnlyPriorityAndDeadline() throws Exception {
    assertThat(RenderValidation.validateChange(json("{\"priority\":3}"), NOW).priority())
        .isEqualTo(3);
    assertThatThrownBy(() -> RenderValidation.validateChange(json("{}"), NOW))
        .isInstanceOf(ApiException.class);
    assertThatThrownBy(() -> RenderValidation.validateChange(json("{\"frames\":5}"), NOW))
        .isInstanceOfSatisfying(ApiException.class, e -> assertThat(e.status()).isEqualTo(422));
  }

  @Test
  void csvReaderHandlesQuotesNewlinesAndRejectsUnclosedQuotes() {
    BatchParser.Rows rows =
        BatchParser.csv(
            BodyFuzzer.bytes("\uFEFFprompt,fps,label.k\n\"a, \"\"b\"\"\r\nc\",30,v\n\nplain,,\n"),
            10);
    assertThat(rows.errors()).isEmpty();
    assertThat(rows.rows()).hasSize(2);
    assertThat(rows.rows().get(0).get("prompt").asText()).isEqualTo("a, \"b\"\r\nc");
    assertThat(rows.rows().get(0).get("fps").asInt()).isEqualTo(30);
    assertThat(rows.rows().get(0).get("labels").get("k").asText()).isEqualTo("v");
    assertThat(rows.rows().get(1).has("fps")).isFalse();
    assertThatThrownBy(() -> BatchParser.csv(BodyFuzzer.bytes("prompt\n\"open\n"), 10))
        .isInstanceOfSatisfying(ApiException.class, e -> assertThat(e.status()).isEqualTo(422));
    assertThatThrownBy(() -> BatchParser.csv(BodyFuzzer.bytes("prompt\na\nb\nc\n"), 2))
        .isInstanceOfSatisfying(ApiException.class, e -> assertThat(e.status()).isEqualTo(413));
  }
}
