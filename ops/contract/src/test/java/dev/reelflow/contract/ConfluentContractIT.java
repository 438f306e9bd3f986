package dev.reelflow.contract;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.reelflow.schemas.avro.AspectRatio;
import dev.reelflow.schemas.avro.DeadLetter;
import dev.reelflow.schemas.avro.ErrorCode;
import dev.reelflow.schemas.avro.ErrorInfo;
import dev.reelflow.schemas.avro.Mode;
import dev.reelflow.schemas.avro.OutputArtifact;
import dev.reelflow.schemas.avro.RenderParams;
import dev.reelflow.schemas.avro.RenderRequest;
import dev.reelflow.schemas.avro.RenderState;
import dev.reelflow.schemas.avro.RenderStatus;
import dev.reelflow.schemas.avro.Resolution;
import dev.reelflow.schemas.avro.Stage;
import dev.reelflow.schemas.avro.UpscaleTarget;
import dev.reelflow.schemas.avro.WorkerEvent;
import dev.reelflow.schemas.avro.WorkerEventType;
import dev.reelflow.schemas.registry.SchemaRegistryClient;
import dev.reelflow.schemas.serde.AvroRecordDeserializer;
import dev.reelflow.schemas.serde.AvroRecordSerializer;
import dev.reelflow.schemas.serde.WireFormat;
import dev.reelflow.stack.LocalStackExtension;
import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import org.apache.avro.io.EncoderFactory;
import org.apache.avro.io.JsonEncoder;
import org.apache.avro.specific.SpecificData;
import org.apache.avro.specific.SpecificDatumWriter;
import org.apache.avro.specific.SpecificRecord;
import org.apache.flink.avro.registry.confluent.shaded.io.confluent.kafka.schemaregistry.avro.AvroSchema;
import org.apache.flink.avro.registry.confluent.shaded.io.confluent.kafka.schemaregistry.client.CachedSchemaRegistryClient;
import org.apache.flink.avro.registry.confluent.shaded.io.confluent.kafka.schemaregistry.client.SchemaMetadata;
import org.apache.flink.avro.registry.confluent.shaded.io.confluent.kafka.schemaregistry.client.rest.exceptions.RestClientException;
import org.apache.flink.avro.shaded.org.apache.avro.Schema;
import org.apache.flink.avro.shaded.org.apache.avro.generic.GenericDatumReader;
import org.apache.flink.avro.shaded.org.apache.avro.generic.GenericDatumWriter;
import org.apache.flink.avro.shaded.org.apache.avro.generic.GenericRecord;
import org.apache.flink.formats.avro.registry.confluent.ConfluentRegistryAvroDeserializationSchema;
import org.apache.flink.formats.avro.registry.confluent.ConfluentRegistryAvroSerializationSchema;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * The contract (ARCHITECTURE.md, decision 18): Confluent's own schema registry client and Flink's
 * Confluent-registry Avro formats (both relocated inside flink-sql-avro-confluent-registry, with
 * their own Avro) against the stack's registry server read what our serdes write and write what our
 * serdes read. Values cross the relocation boundary as Avro JSON, which both Avro copies write the
 * same way.
 */
class ConfluentContractIT {
  @RegisterExtension
  static final LocalStackExtension STACK = LocalStackExtension.builder().kafka().registry().build();

  private static final ObjectMapper JSON = new ObjectMapper();
  private static final Instant T0 = Instant.parse("2026-11-25T10:15:30.123Z");

  static String url;
  static SchemaRegistryClient ours;
  static CachedSchemaRegistryClient confluent;

  @BeforeAll
  static void clients() {
    url = STACK.stack().schemaRegistryUrl();
    ours = SchemaRegistryClient.create(url);
    confluent = new CachedSchemaRegistryClient(url, 100);
  }

  static List<SpecificRecord> samples() {
    RenderParams params =
        RenderParams.newBuilder()
            .setPrompt("a lighthouse at dusk, the sign says \"OPEN\" — ünïcödé")
            .setNegativePrompt("blur")
            .setMode(Mode.I2V)
            .setImageUrl("s3://reelflow/in/frame.png")
            .setResolution(Resolution.P720)
            .setAspectRatio(AspectRatio.AR_4_3)
            .setFrames(121)
            .setSteps(50)
            .setGuidanceScale(6.5f)
            .setSeed(-9_000_000_000L)
            .setUpscale(UpscaleTarget.P1080)
            .build();
    RenderRequest request =
        RenderRequest.newBuilder()
            .setRequestId("r-contract-1")
            .setTenant("demo")
            .setParams(params)
            .setPriority(9)
            .setDeadline(T0.plusSeconds(3600))
            .setLabels(Map.of("campaign", "spring", "row", "17"))
            .setBatchId("b-9")
            .setBatchRow(17)
            .setSubmittedAt(T0)
            .build();
    RenderStatus status =
        RenderStatus.newBuilder()
            .setRequestId("r-contract-1")
            .setTenant("demo")
            .setState(RenderState.FAILED)
            .setStage(Stage.UPSCALE)
            .setAttempt(2)
            .setAttempts(3)
            .setStep(4)
            .setTotalSteps(8)
            .setQueuePosition(1_234L)
            .setQueuePositionEstimated(true)
            .setOutputs(
                List.of(
                    OutputArtifact.newBuilder()
                        .setName("preview")
                        .setKey("demo/2026/11/25/r-contract-1/base/attempt-1/preview.mp4")
                        .setSizeBytes(123_456L)
                        .setSha256("ab".repeat(32))
                        .setContentType("video/mp4")
                        .build()))
            .setError(
                ErrorInfo.newBuilder()
                    .setCode(ErrorCode.OUT_OF_MEMORY)
                    .setMessage("needs 30 GiB")
                    .setRetryable(true)
                    .build())
            .setVersion(42L)
            .setCreatedAt(T0)
            .setUpdatedAt(T0.plusMillis(5))
            .build();
    WorkerEvent worker =
        WorkerEvent.newBuilder()
            .setEventId("e-1")
            .setWorkerId("w-7")
            .setPool(Stage.BASE)
            .setType(WorkerEventType.READY)
            .setFreeSlots(1)
            .setTotalSlots(2)
            .setOwnedPartitions(List.of(0, 5, 15))
            .setRunningTaskIds(List.of("r-1:BASE:1"))
            .setDeviceMemoryBytes(80L << 30)
            .setAt(T0)
            .build();
    DeadLetter dead =
        DeadLetter.newBuilder()
            .setSourceTopic("render.requests")
            .setPartition(3)
            .setOffset(99L)
            .setKey("r-x")
            .setValue(ByteBuffer.wrap(new byte[] {0, 0, 0, 0, 42, -1, 7}))
            .setErrorClass("dev.reelflow.schemas.serde.UnreadableRecordException")
            .setReason("UNKNOWN_SCHEMA_ID: schema id 42 is not known")
            .setComponent("orchestrator")
            .setAt(T0)
            .build();
    return List.of(request, status, worker, dead);
  }

  @Test
  void confluentReadsWhatWeWrite() throws Exception {
    for (SpecificRecord record : samples()) {
      String topic = "contract.ours." + record.getSchema().getName();
      byte[] bytes =
          AvroRecordSerializer.<SpecificRecord>builder()
              .client(ours)
              .build()
              .serialize(topic, record);

      Schema shaded = new Schema.Parser().parse(record.getSchema().toString());
      GenericRecord read =
          ConfluentRegistryAvroDeserializationSchema.forGeneric(shaded, url).deserialize(bytes);

      assertThat(json(shaded, read))
          .as(record.getSchema().getName() + " read by Confluent's client")
          .isEqualTo(json(record));
    }
  }

  @Test
  void weReadWhatConfluentWrites() throws Exception {
    for (SpecificRecord record : samples()) {
      String topic = "contract.confluent." + record.getSchema().getName();
      String subject = topic + "-value";
      Schema shaded = new Schema.Parser().parse(record.getSchema().toString());
      GenericRecord theirs = fromJson(shaded, json(record).toString());

      byte[] bytes =
          ConfluentRegistryAvroSerializationSchema.forGeneric(subject, shaded, url)
              .serialize(theirs);

      assertThat(bytes[0]).isEqualTo(WireFormat.MAGIC_BYTE);
      assertThat(WireFormat.schemaId(bytes))
          .as("Confluent registered the schema on our registry")
          .isEqualTo(ours.latest(subject).id());
      @SuppressWarnings("unchecked")
      Class<SpecificRecord> type = (Class<SpecificRecord>) record.getClass();
      SpecificRecord read =
          AvroRecordDeserializer.builder(type).client(ours).build().deserialize(topic, bytes);
      assertThat(read).as(record.getSchema().getName() + " read by ours").isEqualTo(record);
    }
  }

  @Test
  void bothRegistryClientsAgreeOnIdsAndVersions() throws Exception {
    String subject = "contract.clients-value";
    String schemaText = RenderStatus.getClassSchema().toString();
    int confluentId = confluent.register(subject, new AvroSchema(schemaText));
    assertThat(ours.register(subject, RenderStatus.getClassSchema())).isEqualTo(confluentId);

    SchemaMetadata latest = confluent.getLatestSchemaMetadata(subject);
    assertThat(latest.getId()).isEqualTo(ours.latest(subject).id());
    assertThat(latest.getVersion()).isEqualTo(ours.latest(subject).version());
    assertThat(
            new org.apache.avro.Schema.Parser()
                .parse(confluent.getSchemaById(confluentId).canonicalString()))
        .isEqualTo(ours.getById(confluentId));
    assertThat(confluent.testCompatibility(subject, new AvroSchema(schemaText))).isTrue();
  }

  @Test
  void confluentParsesTheRegistrysErrors() {
    assertThatThrownBy(() -> confluent.getSchemaById(987_654))
        .isInstanceOfSatisfying(
            RestClientException.class,
            e -> {
              assertThat(e.getStatus()).isEqualTo(404);
              assertThat(e.getErrorCode()).isEqualTo(40403);
            });
    assertThatThrownBy(() -> confluent.getLatestSchemaMetadata("contract.none-value"))
        .isInstanceOfSatisfying(
            RestClientException.class, e -> assertThat(e.getErrorCode()).isEqualTo(40401));
    String subject = "contract.incompatible-value";
    String v1 =
        "{\"type\":\"record\",\"name\":\"P\",\"fields\":[{\"name\":\"a\",\"type\":\"string\"}]}";
    String v2 =
        "{\"type\":\"record\",\"name\":\"P\",\"fields\":[{\"name\":\"b\",\"type\":\"long\"}]}";
    assertThat(ours.register(subject, new org.apache.avro.Schema.Parser().parse(v1))).isPositive();
    assertThatThrownBy(() -> confluent.register(subject, new AvroSchema(v2)))
        .isInstanceOfSatisfying(
            RestClientException.class, e -> assertThat(e.getStatus()).isEqualTo(409));
  }

  /** Avro JSON of one of our records. */
  static JsonNode json(SpecificRecord record) throws Exception {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    JsonEncoder enc = EncoderFactory.get().jsonEncoder(record.getSchema(), out);
    new SpecificDatumWriter<>(record.getSchema(), SpecificData.getForClass(record.getClass()))
        .write(record, enc);
    enc.flush();
    return JSON.readTree(out.toByteArray());
  }

  /** Avro JSON of a record of the relocated Avro. */
  static JsonNode json(Schema schema, GenericRecord record) throws Exception {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    org.apache.flink.avro.shaded.org.apache.avro.io.JsonEncoder enc =
        org.apache.flink.avro.shaded.org.apache.avro.io.EncoderFactory.get()
            .jsonEncoder(schema, out);
    new GenericDatumWriter<GenericRecord>(schema).write(record, enc);
    enc.flush();
    return JSON.readTree(out.toByteArray());
  }

  /** A record of the relocated Avro from Avro JSON. */
  static GenericRecord fromJson(Schema schema, String json) throws Exception {
    return new GenericDatumReader<GenericRecord>(schema)
        .read(
            null,
            org.apache.flink.avro.shaded.org.apache.avro.io.DecoderFactory.get()
                .jsonDecoder(schema, json));
  }
}
