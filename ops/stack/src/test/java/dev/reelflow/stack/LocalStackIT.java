package dev.reelflow.stack;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.minio.GetObjectArgs;
import io.minio.MinioClient;
import io.minio.PutObjectArgs;
import java.io.ByteArrayInputStream;
import java.io.InputStream;
import java.net.ConnectException;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.stream.Collectors;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class LocalStackIT {
  static final String SCHEMA =
      "{\"type\":\"record\",\"name\":\"Kept\",\"namespace\":\"it\",\"fields\":"
          + "[{\"name\":\"id\",\"type\":\"string\"}]}";
  static final HttpClient HTTP = HttpClient.newHttpClient();

  @TempDir Path dir;

  @Test
  void closeReleasesEverythingAndRestartOnTheSameWorkDirKeepsAllData() throws Exception {
    Set<String> threadsBefore = nonDaemonThreads();
    Path workDir = dir.resolve("stack");
    int schemaId;
    String accessKey;
    List<Integer> ports;
    try (LocalStack first = LocalStack.builder().workDir(workDir).all().build().start()) {
      try (Admin admin = admin(first)) {
        admin.createTopics(List.of(new NewTopic("kept", 1, (short) 1))).all().get();
      }
      try (KafkaProducer<String, String> producer = producer(first)) {
        producer.send(new ProducerRecord<>("kept", "k", "kept-value")).get();
      }
      schemaId = register(first);
      minio(first)
          .putObject(
              PutObjectArgs.builder().bucket(first.bucket()).object("kept/object.txt").stream(
                      new ByteArrayInputStream("kept-object".getBytes(StandardCharsets.UTF_8)),
                      11,
                      -1)
                  .build());
      accessKey = first.s3AccessKey();
      ports =
          List.of(
              first.kafka().port(),
              first.kafka().controllerPort(),
              first.registry().port(),
              first.s3().port());
    }
    for (int port : ports) {
      assertThatThrownBy(() -> new Socket("127.0.0.1", port).close())
          .as("port %s is released", port)
          .isInstanceOf(ConnectException.class);
    }
    assertThat(workDir).isDirectory(); // an explicit work dir is kept

    try (LocalStack second = LocalStack.builder().workDir(workDir).all().build().start()) {
      assertThat(readOne(second, "kept")).isEqualTo("kept-value");
      assertThat(register(second)).isEqualTo(schemaId);
      HttpResponse<String> byId =
          HTTP.send(
              HttpRequest.newBuilder(
                      URI.create(second.schemaRegistryUrl() + "/schemas/ids/" + schemaId))
                  .build(),
              HttpResponse.BodyHandlers.ofString());
      assertThat(byId.statusCode()).isEqualTo(200);
      assertThat(second.s3AccessKey()).isEqualTo(accessKey);
      try (InputStream in =
          minio(second)
              .getObject(
                  GetObjectArgs.builder()
                      .bucket(second.bucket())
                      .object("kept/object.txt")
                      .build())) {
        assertThat(new String(in.readAllBytes(), StandardCharsets.UTF_8)).isEqualTo("kept-object");
      }
    }
    // Kafka's and Jetty's worker threads are gone after close (give them a moment to exit).
    long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
    Set<String> leaked = nonDaemonThreads();
    leaked.removeAll(threadsBefore);
    while (!leaked.isEmpty() && System.nanoTime() < deadline) {
      Thread.sleep(200);
      leaked = nonDaemonThreads();
      leaked.removeAll(threadsBefore);
    }
    assertThat(leaked).as("non-daemon threads left running").isEmpty();
  }

  @Test
  void temporaryWorkDirIsDeletedOnClose() {
    LocalStack stack = LocalStack.builder().s3().build().start();
    Path workDir = stack.workDir();
    assertThat(workDir).isDirectory();
    stack.close();
    assertThat(Files.exists(workDir)).isFalse();
  }

  static Set<String> nonDaemonThreads() {
    return Thread.getAllStackTraces().keySet().stream()
        .filter(t -> t.isAlive() && !t.isDaemon())
        // The test's own MinIO client keeps idle OkHttp dispatcher threads for a minute.
        .filter(t -> !t.getName().startsWith("OkHttp"))
        .map(t -> t.getName() + "#" + t.getId())
        .collect(Collectors.toSet());
  }

  static int register(LocalStack stack) throws Exception {
    return register(stack, "kept-value", SCHEMA);
  }

  static int register(LocalStack stack, String subject, String schema) throws Exception {
    HttpResponse<String> r =
        HTTP.send(
            HttpRequest.newBuilder(
                    URI.create(stack.schemaRegistryUrl() + "/subjects/" + subject + "/versions"))
                .header("Content-Type", "application/vnd.schemaregistry.v1+json")
                .POST(
                    HttpRequest.BodyPublishers.ofString(
                        new com.fasterxml.jackson.databind.ObjectMapper()
                            .writeValueAsString(Map.of("schema", schema))))
                .build(),
            HttpResponse.BodyHandlers.ofString());
    assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
    return new com.fasterxml.jackson.databind.ObjectMapper().readTree(r.body()).get("id").asInt();
  }

  static MinioClient minio(LocalStack stack) {
    return MinioClient.builder()
        .endpoint(stack.s3Endpoint())
        .credentials(stack.s3AccessKey(), stack.s3SecretKey())
        .region(stack.s3Region())
        .build();
  }

  static Admin admin(LocalStack stack) {
    return Admin.create(
        Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, stack.bootstrapServers()));
  }

  static KafkaProducer<String, String> producer(LocalStack stack) {
    Properties p = new Properties();
    p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, stack.bootstrapServers());
    return new KafkaProducer<>(p, new StringSerializer(), new StringSerializer());
  }

  static String readOne(LocalStack stack, String topic) {
    Properties p = new Properties();
    p.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, stack.bootstrapServers());
    try (KafkaConsumer<String, String> consumer =
        new KafkaConsumer<>(p, new StringDeserializer(), new StringDeserializer())) {
      TopicPartition tp = new TopicPartition(topic, 0);
      consumer.assign(List.of(tp));
      consumer.seekToBeginning(List.of(tp));
      long deadline = System.nanoTime() + Duration.ofSeconds(20).toNanos();
      while (System.nanoTime() < deadline) {
        for (ConsumerRecord<String, String> r : consumer.poll(Duration.ofMillis(200))) {
          return r.value();
        }
      }
    }
    return null;
  }
}
