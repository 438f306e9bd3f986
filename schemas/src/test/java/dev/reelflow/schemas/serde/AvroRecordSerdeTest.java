package dev.reelflow.schemas.serde;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.reelflow.schemas.EmulatedRegistry;
import dev.reelflow.schemas.Samples;
import dev.reelflow.schemas.avro.RenderRequest;
import dev.reelflow.schemas.avro.RenderStatus;
import dev.reelflow.schemas.registry.SchemaRegistryClient;
import dev.reelflow.schemas.registry.SchemaRegistryConfig;
import dev.reelflow.schemas.registry.SchemaRegistryException;
import dev.reelflow.schemas.serde.UnreadableRecordException.Reason;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.ObjectInputStream;
import java.io.ObjectOutputStream;
import java.util.Arrays;
import java.util.Map;
import java.util.Set;
import org.apache.avro.Schema;
import org.apache.avro.SchemaBuilder;
import org.apache.avro.generic.GenericData;
import org.apache.avro.generic.GenericRecord;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** Serdes against an EMULATED in-memory registry (the real one is in the ITs). */
class AvroRecordSerdeTest {
  private static final String TOPIC = "render.requests";
  private static final String SUBJECT = TOPIC + "-value";

  private EmulatedRegistry registry;
  private SchemaRegistryClient client;
  private AvroRecordSerializer<RenderRequest> serializer;
  private AvroRecordDeserializer<RenderRequest> deserializer;

  @BeforeEach
  void start() throws Exception {
    registry = new EmulatedRegistry();
    client = SchemaRegistryClient.create(registry.url());
    serializer = AvroRecordSerializer.<RenderRequest>builder().client(client).build();
    deserializer = AvroRecordDeserializer.builder(RenderRequest.class).client(client).build();
  }

  @AfterEach
  void stop() {
    registry.close();
  }

  @Test
  void roundTripInConfluentWireFormat() {
    RenderRequest request = Samples.request("r-1");
    byte[] bytes = serializer.serialize(TOPIC, request);
    assertThat(bytes[0]).isEqualTo(WireFormat.MAGIC_BYTE);
    int id = WireFormat.schemaId(bytes);
    assertThat(client.latest(SUBJECT).id()).isEqualTo(id);
    assertThat(deserializer.deserialize(TOPIC, bytes)).isEqualTo(request);
    assertThat(serializer.serialize(TOPIC, null)).isNull();
    assertThat(deserializer.deserialize(TOPIC, null)).isNull();
  }

  @Test
  void configuredByKafkaProperties() {
    AvroRecordSerializer<RenderRequest> s = new AvroRecordSerializer<>();
    s.configure(Map.of(SchemaRegistryConfig.URL, registry.url()), false);
    AvroRecordDeserializer<RenderRequest> d = new AvroRecordDeserializer<>();
    d.configure(
        Map.of(
            SchemaRegistryConfig.URL,
            registry.url(),
            AvroRecordDeserializer.VALUE_TYPE,
            RenderRequest.class.getName()),
        false);
    RenderRequest request = Samples.request("r-2");
    assertThat(d.deserialize(TOPIC, s.serialize(TOPIC, request))).isEqualTo(request);

    AvroRecordDeserializer<RenderRequest> noType = new AvroRecordDeserializer<>();
    assertThatThrownBy(
            () -> noType.configure(Map.of(SchemaRegistryConfig.URL, registry.url()), false))
        .hasMessageContaining(AvroRecordDeserializer.VALUE_TYPE);
    assertThatThrownBy(() -> new AvroRecordSerializer<RenderRequest>().serialize(TOPIC, request))
        .isInstanceOf(IllegalStateException.class);
    assertThatThrownBy(
            () ->
                new AvroRecordSerializer<>()
                    .configure(
                        Map.of(
                            SchemaRegistryConfig.URL,
                            registry.url(),
                            AvroRecordSerializer.AUTO_REGISTER,
                            "yes"),
                        false))
        .hasMessageContaining(AvroRecordSerializer.AUTO_REGISTER);
  }

  @Test
  void withoutAutoRegisterTheSchemaMustBeRegistered() {
    AvroRecordSerializer<RenderRequest> strict =
        AvroRecordSerializer.<RenderRequest>builder()
            .registry(SchemaRegistryConfig.of(registry.url()))
            .autoRegister(false)
            .build();
    assertThatThrownBy(() -> strict.serialize(TOPIC, Samples.request("r-3")))
        .isInstanceOfSatisfying(
            SchemaRegistryException.class,
            e -> assertThat(e.errorCode()).isEqualTo(SchemaRegistryException.SUBJECT_NOT_FOUND));
    int id = client.register(SUBJECT, RenderRequest.getClassSchema());
    assertThat(WireFormat.schemaId(strict.serialize(TOPIC, Samples.request("r-3")))).isEqualTo(id);
  }

  @Test
  void wrongMagicByteIsUnreadable() {
    byte[] bytes = serializer.serialize(TOPIC, Samples.request("r-4"));
    bytes[0] = 1;
    assertUnreadable(bytes, Reason.BAD_MAGIC_BYTE);
  }

  @Test
  void unknownSchemaIdIsUnreadable() {
    byte[] bytes = serializer.serialize(TOPIC, Samples.request("r-5"));
    byte[] unknown = WireFormat.frame(4711, Arrays.copyOfRange(bytes, 5, bytes.length));
    UnreadableRecordException e = assertUnreadable(unknown, Reason.UNKNOWN_SCHEMA_ID);
    assertThat(e.schemaId()).isEqualTo(4711);
  }

  @Test
  void truncatedValuesAreUnreadable() {
    byte[] bytes = serializer.serialize(TOPIC, Samples.request("r-6"));
    assertUnreadable(Arrays.copyOf(bytes, 3), Reason.TRUNCATED);
    for (int cut : new int[] {5, 6, bytes.length / 2, bytes.length - 1}) {
      assertUnreadable(Arrays.copyOf(bytes, cut), Reason.TRUNCATED);
    }
  }

  @Test
  void corruptBodiesAreUnreadable() {
    byte[] bytes = serializer.serialize(TOPIC, Samples.request("r-7"));
    byte[] trailing = Arrays.copyOf(bytes, bytes.length + 2);
    assertUnreadable(trailing, Reason.CORRUPT);
    byte[] negativeLength = bytes.clone();
    negativeLength[5] = 0x01; // zig-zag -1 as the length of requestId
    assertUnreadable(negativeLength, Reason.CORRUPT);
  }

  @Test
  void incompatibleWriterSchemaIsUnreadable() {
    Schema other =
        SchemaBuilder.record("RenderRequest")
            .namespace("dev.reelflow.schemas.avro")
            .fields()
            .requiredString("somethingElse")
            .endRecord();
    int id = registry.registerDirect("elsewhere-value", other);
    GenericRecord g = new GenericData.Record(other);
    g.put("somethingElse", "x");
    UnreadableRecordException e =
        assertUnreadable(WireFormat.frame(id, Samples.write(other, g)), Reason.INCOMPATIBLE_SCHEMA);
    assertThat(e.getMessage()).contains("requestId");
  }

  @Test
  void recordsWrittenWithAnOlderSchemaAreRead() throws Exception {
    Set<String> added = Set.of("labels", "callbackUrl", "idempotencyKey", "scheduleFireTime");
    Schema older = Samples.without(RenderRequest.getClassSchema(), added);
    int oldId = registry.registerDirect(SUBJECT, older);
    // The current schema is a BACKWARD compatible next version of the older one.
    assertThat(client.testCompatibility(SUBJECT, RenderRequest.getClassSchema())).isTrue();
    assertThat(client.register(SUBJECT, RenderRequest.getClassSchema())).isNotEqualTo(oldId);

    RenderRequest current = Samples.request("r-8");
    current.setCallbackUrl("https://example.invalid/hook");
    byte[] oldBytes =
        WireFormat.frame(oldId, Samples.write(older, Samples.project(current, older)));
    RenderRequest read = deserializer.deserialize(TOPIC, oldBytes);

    assertThat(read.getRequestId()).isEqualTo("r-8");
    assertThat(read.getParams()).isEqualTo(current.getParams());
    assertThat(read.getDeadline()).isEqualTo(current.getDeadline());
    assertThat(read.getSubmittedAt()).isEqualTo(current.getSubmittedAt());
    assertThat(read.getLabels()).as("default of a field the writer did not have").isEmpty();
    assertThat(read.getCallbackUrl()).isNull();
    assertThat(read.getIdempotencyKey()).isNull();
  }

  @Test
  void useLatestWritesWithTheSubjectsLatestSchema() {
    Schema older = Samples.without(RenderRequest.getClassSchema(), Set.of("labels", "batchRow"));
    int oldId = registry.registerDirect(SUBJECT, older);
    AvroRecordSerializer<RenderRequest> latest =
        AvroRecordSerializer.<RenderRequest>builder().client(client).useLatest(true).build();
    RenderRequest request = Samples.request("r-9");
    byte[] bytes = latest.serialize(TOPIC, request);
    assertThat(WireFormat.schemaId(bytes)).isEqualTo(oldId);
    RenderRequest read = deserializer.deserialize(TOPIC, bytes);
    assertThat(read.getRequestId()).isEqualTo("r-9");
    assertThat(read.getBatchId()).isEqualTo("b-1");
    assertThat(read.getBatchRow()).as("dropped by the latest schema").isNull();
    assertThat(read.getLabels()).isEmpty();
  }

  @Test
  void flinkSchemasAreSerializableAndRoundTrip() throws Exception {
    SchemaRegistryConfig config = SchemaRegistryConfig.of(registry.url());
    AvroRecordSerializationSchema<RenderRequest> out =
        reserialize(
            AvroRecordSerializationSchema.<RenderRequest>builder(TOPIC).registry(config).build());
    AvroRecordDeserializationSchema<RenderRequest> in =
        reserialize(
            AvroRecordDeserializationSchema.builder(RenderRequest.class).registry(config).build());
    out.open(null);
    in.open(null);
    assertThat(out.subject()).isEqualTo(SUBJECT);
    RenderRequest request = Samples.request("r-10");
    byte[] bytes = out.serialize(request);
    assertThat(in.deserialize(bytes)).isEqualTo(request);
    assertThat(deserializer.deserialize(TOPIC, bytes))
        .as("same bytes as Kafka's")
        .isEqualTo(request);
    assertThat(in.getProducedType().getTypeClass()).isEqualTo(RenderRequest.class);
    assertThat(in.isEndOfStream(request)).isFalse();
    assertThatThrownBy(() -> in.decode(new byte[] {5}))
        .isInstanceOfSatisfying(
            UnreadableRecordException.class,
            e -> assertThat(e.reason()).isEqualTo(Reason.BAD_MAGIC_BYTE));
  }

  @Test
  void readerOfAnotherTypeRejectsTheWriterSchema() {
    byte[] bytes = serializer.serialize(TOPIC, Samples.request("r-11"));
    AvroRecordDeserializer<RenderStatus> wrong =
        AvroRecordDeserializer.builder(RenderStatus.class).client(client).build();
    assertThatThrownBy(() -> wrong.deserialize(TOPIC, bytes))
        .isInstanceOfSatisfying(
            UnreadableRecordException.class,
            e -> assertThat(e.reason()).isEqualTo(Reason.INCOMPATIBLE_SCHEMA));
  }

  private UnreadableRecordException assertUnreadable(byte[] bytes, Reason reason) {
    try {
      deserializer.deserialize(TOPIC, bytes);
    } catch (UnreadableRecordException e) {
      assertThat(e.reason()).as(e.getMessage()).isEqualTo(reason);
      return e;
    }
    throw new AssertionError("expected " + reason + " for " + Arrays.toString(bytes));
  }

  @SuppressWarnings("unchecked")
  private static <T> T reserialize(T value) throws Exception {
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    try (ObjectOutputStream out = new ObjectOutputStream(bytes)) {
      out.writeObject(value);
    }
    try (ObjectInputStream in =
        new ObjectInputStream(new ByteArrayInputStream(bytes.toByteArray()))) {
      return (T) in.readObject();
    }
  }
}
