package dev.reelflow.schemas;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.apache.avro.Schema;

/**
 * The AsyncAPI 3.0 description of ReelFlow's event interface, generated from the Avro schemas (the
 * {@code .avsc} files, as compiled into the SpecificRecord classes) and the topic catalogue ({@link
 * Topic}, {@link Topics}): one channel per topic with its key, value schema, Confluent wire format,
 * cleanup policy, retention and partitions; one operation per process that writes or reads it; an
 * example of every message.
 *
 * <p>The build writes it to {@value #RESOURCE} on the class path ({@link #main}, in the schemas
 * module's {@code process-classes} phase), so the document can never drift from the schemas; ingest
 * serves it at {@code GET /asyncapi.json}.
 */
public final class AsyncApiDocument {

  /** Class-path location of the document the build generated. */
  public static final String RESOURCE = "/dev/reelflow/schemas/asyncapi.json";

  /** The AsyncAPI version of the document. */
  public static final String ASYNCAPI_VERSION = "3.0.0";

  /** Schema format of the Avro payloads (the newest Avro version AsyncAPI 3.0 names). */
  static final String AVRO_FORMAT = "application/vnd.apache.avro+json;version=1.9.0";

  static final String KAFKA_BINDING = "0.5.0";

  static final String OPENLINEAGE_SPEC = "https://openlineage.io/spec/2-0-2/OpenLineage.json";

  private static final ObjectMapper JSON =
      new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

  private AsyncApiDocument() {}

  /**
   * Writes the document of the default catalogue to a file.
   *
   * @param args the output file, then the version of the interface (the project version)
   */
  public static void main(String[] args) throws IOException {
    if (args.length != 2) {
      throw new IllegalArgumentException("usage: AsyncApiDocument <output file> <version>");
    }
    Path out = Path.of(args[0]);
    if (out.getParent() != null) {
      Files.createDirectories(out.getParent());
    }
    Files.writeString(out, toJson(build(Topics.defaults(), args[1])), StandardCharsets.UTF_8);
  }

  /** The document as the build generated it, from the class path; empty when it is missing. */
  public static Optional<byte[]> generated() {
    try (InputStream in = AsyncApiDocument.class.getResourceAsStream(RESOURCE)) {
      return in == null ? Optional.empty() : Optional.of(in.readAllBytes());
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** Pretty-printed JSON of a document. */
  public static String toJson(JsonNode doc) {
    try {
      return JSON.writeValueAsString(doc) + "\n";
    } catch (JsonProcessingException e) {
      throw new IllegalStateException(e);
    }
  }

  /**
   * The document of a deployment's catalogue.
   *
   * @param topics the catalogue (partition counts)
   * @param version version of the interface, e.g. the project version
   */
  public static ObjectNode build(Topics topics, String version) {
    ObjectNode doc = JSON.createObjectNode();
    doc.put("asyncapi", ASYNCAPI_VERSION);
    doc.put("id", "urn:dev:reelflow:events");
    ObjectNode info = doc.putObject("info");
    info.put("title", "ReelFlow event interface");
    info.put("version", version);
    info.put("description", INTRODUCTION);
    ArrayNode tags = info.putArray("tags");
    for (Component c : Component.values()) {
      tags.addObject().put("name", c.id()).put("description", c.description());
    }
    info.putObject("externalDocs")
        .put("description", "Consumer guide: the README's section 'Reading the events'")
        .put("url", "https://github.com/reelflow/reelflow#reading-the-events");
    doc.put("defaultContentType", AVRO_CONTENT_TYPE);
    servers(doc.putObject("servers"));

    ObjectNode channels = doc.putObject("channels");
    ObjectNode operations = doc.putObject("operations");
    ObjectNode components = doc.putObject("components");
    ObjectNode messages = components.putObject("messages");
    Map<String, String> keyOfMessage = new LinkedHashMap<>();
    for (Topics.Spec spec : topics.specs()) {
      Topic topic = spec.topic();
      String messageName = messageName(topic);
      String previousKey = keyOfMessage.putIfAbsent(messageName, topic.keyDescription());
      if (previousKey == null) {
        messages.set(messageName, message(topic, messageName));
      } else if (!previousKey.equals(topic.keyDescription())) {
        throw new IllegalStateException(
            messageName + " is keyed by " + previousKey + " and by " + topic.keyDescription());
      }
      channels.set(spec.name(), channel(spec, messageName));
      for (Component c : topic.producers()) {
        operations.set(
            c.id() + ".send." + spec.name(), operation("send", c, spec, messageName, topic));
      }
      for (Component c : topic.consumers()) {
        operations.set(
            c.id() + ".receive." + spec.name(), operation("receive", c, spec, messageName, topic));
      }
    }
    return doc;
  }

  static final String AVRO_CONTENT_TYPE = "application/vnd.apache.avro+binary";

  private static final String INTRODUCTION =
      String.join(
          "\n",
          "ReelFlow renders videos from prompts; its processes meet only through these Kafka topics.",
          "",
          "**Keys** are UTF-8 strings (StringSerializer): the requestId, workerId, scheduleId or, on"
              + " render.dlq, the key of the refused record.",
          "",
          "**Values** (all topics but render.lineage) are Avro in the Confluent wire format: byte 0"
              + " is the magic byte 0, bytes 1-4 the schema id (big-endian int) in the schema"
              + " registry, then the Avro binary encoding of the record. Subjects follow"
              + " TopicNameStrategy (`<topic>-value`); compatibility is BACKWARD, so a new reader"
              + " always reads old records. Any Confluent-compatible deserializer reads them with its"
              + " default settings (Java, Python confluent-kafka, Node @confluentinc/schemaregistry)."
              + " render.lineage carries OpenLineage JSON.",
          "",
          "**Numbers**: every long on these topics stays within -(2^53 - 2)..2^53 - 2"
              + " (9007199254740990), so JavaScript consumers read them exactly: avsc, the Avro"
              + " library of Confluent's JavaScript deserializer, refuses larger ones ('potential"
              + " precision loss'). Each field's doc says how; seeds are in 0..2^53 - 2."
              + " Timestamps (logical type timestamp-millis) are epoch milliseconds.",
          "",
          "**Partitions** shown are the catalogue's defaults; a deployment may override them"
              + " (reelflow.topics.partitions.<topic>). Records of one key are in one partition, in"
              + " order.",
          "",
          "**Transactions**: render.status, render.lineage, render.dlq and the task topics are"
              + " written in Kafka transactions; read them with isolation.level=read_committed.",
          "",
          "**Compaction**: render.status and render.schedules are compacted (the newest value per key"
              + " is kept). A render's statuses carry a growing `version`: keep the highest you have"
              + " seen and drop older or equal ones. A render has ended when its state is SUCCEEDED,"
              + " FAILED, CANCELLED or EXPIRED.");

  private static void servers(ObjectNode servers) {
    ObjectNode local = servers.putObject("local");
    local.put("host", "{bootstrap}");
    local.put("protocol", "kafka");
    local.put(
        "description",
        "A ReelFlow deployment's Kafka cluster: `reelflow up` prints the bootstrap servers and the"
            + " schema registry URL and writes them to .reelflow/local.json.");
    local
        .putObject("variables")
        .putObject("bootstrap")
        .put("default", "localhost:9092")
        .put("description", "kafka.bootstrap.servers of the deployment");
    local
        .putObject("bindings")
        .putObject("kafka")
        .put("schemaRegistryUrl", "http://localhost:8081")
        .put("schemaRegistryVendor", "confluent")
        .put("bindingVersion", KAFKA_BINDING);
  }

  /** The message name of a topic's values: the record name, or OpenLineageRunEvent. */
  static String messageName(Topic topic) {
    return topic.valueSchema().map(Schema::getName).orElse("OpenLineageRunEvent");
  }

  private static ObjectNode channel(Topics.Spec spec, String messageName) {
    Topic topic = spec.topic();
    ObjectNode ch = JSON.createObjectNode();
    ch.put("address", spec.name());
    ch.put("title", spec.name());
    StringBuilder d = new StringBuilder(topic.description());
    d.append("\n\nKey: ").append(topic.keyDescription()).append(". ");
    if (topic.compacted()) {
      d.append("Cleanup: compact (the newest value of each key is kept).");
    } else {
      d.append("Cleanup: delete after ")
          .append(topic.retention().orElseThrow().toDays())
          .append(" days.");
    }
    d.append(" Written by ").append(ids(topic.producers()));
    d.append("; read by ").append(ids(topic.consumers())).append('.');
    ch.put("description", d.toString());
    ch.putObject("messages")
        .putObject(messageName)
        .put("$ref", "#/components/messages/" + messageName);
    ObjectNode kafka = ch.putObject("bindings").putObject("kafka");
    kafka.put("topic", spec.name());
    kafka.put("partitions", spec.partitions());
    ObjectNode config = kafka.putObject("topicConfiguration");
    config.putArray("cleanup.policy").add(topic.cleanupPolicy());
    topic.retention().ifPresent(r -> config.put("retention.ms", r.toMillis()));
    kafka.put("bindingVersion", KAFKA_BINDING);
    return ch;
  }

  private static String ids(List<Component> components) {
    return String.join(", ", components.stream().map(Component::id).toList());
  }

  private static ObjectNode operation(
      String action, Component c, Topics.Spec spec, String messageName, Topic topic) {
    ObjectNode op = JSON.createObjectNode();
    op.put("action", action);
    op.putObject("channel").put("$ref", "#/channels/" + pointer(spec.name()));
    op.put("title", c.id() + (action.equals("send") ? " writes " : " reads ") + spec.name());
    if (c == Component.DOWNSTREAM) {
      op.put(
          "description",
          "Consumer settings: isolation.level=read_committed, auto.offset.reset=earliest,"
              + " a Confluent-compatible Avro deserializer with its defaults"
              + (topic == Topic.LINEAGE ? " (this topic is JSON: parse the value as text)" : "")
              + (topic == Topic.STATUS
                  ? "; keep the highest version per requestId and drop older or equal ones"
                  : "")
              + ".");
    }
    op.putArray("tags").addObject().put("name", c.id());
    op.putArray("messages")
        .addObject()
        .put("$ref", "#/channels/" + pointer(spec.name()) + "/messages/" + messageName);
    return op;
  }

  /** A JSON-pointer segment (RFC 6901). */
  private static String pointer(String segment) {
    return segment.replace("~", "~0").replace("/", "~1");
  }

  private static ObjectNode message(Topic topic, String name) {
    ObjectNode m = JSON.createObjectNode();
    m.put("name", name);
    m.put("title", name);
    Optional<Schema> schema = topic.valueSchema();
    ObjectNode kafka = JSON.createObjectNode();
    kafka.putObject("key").put("type", "string").put("description", topic.keyDescription());
    if (schema.isPresent()) {
      m.put("summary", schema.get().getDoc());
      m.put("contentType", AVRO_CONTENT_TYPE);
      ObjectNode payload = m.putObject("payload");
      payload.put("schemaFormat", AVRO_FORMAT);
      payload.set("schema", avroSchema(schema.get()));
      kafka.put("schemaIdLocation", "payload");
      kafka.put("schemaIdPayloadEncoding", "confluent");
      kafka.put("schemaLookupStrategy", "TopicNameStrategy");
    } else {
      m.put(
          "summary",
          "An OpenLineage RunEvent of a render (JSON, not Avro): START, RUNNING per stage attempt,"
              + " COMPLETE with the output datasets, FAIL with an errorMessage facet.");
      m.put("contentType", "application/json");
      m.set("payload", LineagePayload.schema());
      m.putObject("externalDocs")
          .put("description", "OpenLineage specification")
          .put("url", OPENLINEAGE_SPEC);
    }
    kafka.put("bindingVersion", KAFKA_BINDING);
    if (topic == Topic.DLQ) {
      m.set("headers", DeadLetterHeaders.schema());
    }
    m.putObject("bindings").set("kafka", kafka);
    ArrayNode examples = m.putArray("examples");
    for (ExampleEvents.Example e : ExampleEvents.of(name)) {
      ObjectNode ex = examples.addObject();
      ex.put("name", e.name());
      ex.put("summary", e.summary());
      if (!e.headers().isEmpty()) {
        ObjectNode h = ex.putObject("headers");
        e.headers().forEach(h::put);
      }
      ex.set("payload", e.payload());
    }
    return m;
  }

  private static JsonNode avroSchema(Schema schema) {
    try {
      return JSON.readTree(schema.toString());
    } catch (JsonProcessingException e) {
      throw new IllegalStateException(e);
    }
  }

  /** JSON-schema of the reason headers of render.dlq ({@link DeadLetters}). */
  static final class DeadLetterHeaders {
    private DeadLetterHeaders() {}

    static ObjectNode schema() {
      ObjectNode s = JSON.createObjectNode();
      s.put("type", "object");
      s.put(
          "description",
          "Kafka headers (UTF-8 values) repeating the dead letter's reason, so tools can triage"
              + " without decoding the value.");
      ObjectNode p = s.putObject("properties");
      header(p, DeadLetters.HEADER_REASON, "<CODE>: <message>, as the value's reason field");
      header(p, DeadLetters.HEADER_ERROR_CLASS, "class or code of the error");
      header(p, DeadLetters.HEADER_SOURCE_TOPIC, "topic the record came from");
      header(p, DeadLetters.HEADER_SOURCE_PARTITION, "its partition, -1 when not from Kafka");
      header(p, DeadLetters.HEADER_SOURCE_OFFSET, "its offset, -1 when not from Kafka");
      header(p, DeadLetters.HEADER_COMPONENT, "orchestrator, worker or ingest");
      return s;
    }

    private static void header(ObjectNode p, String name, String description) {
      p.putObject(name).put("type", "string").put("description", description);
    }
  }

  /** JSON-schema of the OpenLineage RunEvents ReelFlow writes (the subset it fills). */
  static final class LineagePayload {
    private LineagePayload() {}

    static ObjectNode schema() {
      ObjectNode s = JSON.createObjectNode();
      s.put("type", "object");
      s.put(
          "description",
          "An OpenLineage 2-0-2 RunEvent. Job namespace reelflow, job name render; the run id is"
              + " a name-based UUID of the requestId, so replays merge. Run facets:"
              + " reelflow_render (requestId, tenant, resolution, modelId, weightsId, emulated),"
              + " reelflow_stage on RUNNING (stage, attempt, workerId), parent (the batch or"
              + " schedule run), errorMessage on FAIL. Outputs on COMPLETE: one dataset per"
              + " published object (namespace s3://<bucket>, name = object key) with the facets"
              + " version (SHA-256), reelflow_artifact and outputStatistics (size in bytes).");
      s.putArray("required")
          .add("eventType")
          .add("eventTime")
          .add("run")
          .add("job")
          .add("producer")
          .add("schemaURL");
      ObjectNode p = s.putObject("properties");
      ObjectNode type = p.putObject("eventType");
      type.put("type", "string");
      type.putArray("enum").add("START").add("RUNNING").add("COMPLETE").add("FAIL");
      p.putObject("eventTime").put("type", "string").put("format", "date-time");
      ObjectNode run = p.putObject("run");
      run.put("type", "object");
      run.putArray("required").add("runId");
      ObjectNode runProps = run.putObject("properties");
      runProps.putObject("runId").put("type", "string").put("format", "uuid");
      runProps.putObject("facets").put("type", "object");
      ObjectNode job = p.putObject("job");
      job.put("type", "object");
      job.putArray("required").add("namespace").add("name");
      ObjectNode jobProps = job.putObject("properties");
      jobProps.putObject("namespace").put("type", "string").put("const", "reelflow");
      jobProps.putObject("name").put("type", "string");
      jobProps.putObject("facets").put("type", "object");
      for (String list : List.of("inputs", "outputs")) {
        ObjectNode a = p.putObject(list);
        a.put("type", "array");
        ObjectNode item = a.putObject("items");
        item.put("type", "object");
        item.putArray("required").add("namespace").add("name");
        ObjectNode ip = item.putObject("properties");
        ip.putObject("namespace").put("type", "string");
        ip.putObject("name").put("type", "string");
        ip.putObject("facets").put("type", "object");
      }
      p.putObject("producer").put("type", "string").put("format", "uri");
      p.putObject("schemaURL").put("type", "string").put("format", "uri");
      return s;
    }
  }
}
