package dev.reelflow.cli;

import dev.reelflow.schemas.SchemaProvisioner;
import dev.reelflow.schemas.TopicProvisioner;
import dev.reelflow.schemas.Topics;
import dev.reelflow.schemas.registry.SchemaRegistryClient;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code reelflow provision}: creates the topic catalogue on a Kafka cluster and registers every
 * value schema, as a deployment step before the orchestrator, the workers and ingest start.
 * Idempotent: existing topics are checked, not altered; registered schemas keep their ids.
 */
@Command(
    name = "provision",
    mixinStandardHelpOptions = true,
    description = {
      "Create the ReelFlow topics (TopicProvisioner) and register their value schemas",
      "(SchemaProvisioner) on a running cluster. Safe to run again."
    })
final class ProvisionCommand implements Callable<Integer> {
  @Option(
      names = "--bootstrap-servers",
      required = true,
      description = "Kafka bootstrap servers, e.g. 127.0.0.1:9092,127.0.0.1:9093.")
  String bootstrapServers;

  @Option(names = "--schema-registry-url", required = true, description = "Schema registry URL.")
  String registryUrl;

  @Option(
      names = "--replication-factor",
      description =
          "Replication factor of new topics (default: min(3, brokers); 3 also sets"
              + " min.insync.replicas=2).")
  Integer replicationFactor;

  @Override
  public Integer call() {
    TopicProvisioner.Builder topics = TopicProvisioner.builder().bootstrapServers(bootstrapServers);
    if (replicationFactor != null) {
      topics.replicationFactor(replicationFactor);
    }
    TopicProvisioner.Result result;
    try {
      result = topics.build().provision();
    } catch (IllegalStateException e) {
      throw new CliException(ExitCode.API_ERROR, "topics: " + e.getMessage(), e);
    }
    System.out.println(
        "topics: "
            + result.created().size()
            + " created, "
            + result.existing().size()
            + " existing");
    result.warnings().forEach(w -> System.out.println("warning: " + w));
    Map<String, Integer> ids;
    try {
      ids =
          SchemaProvisioner.registerAll(
              SchemaRegistryClient.create(registryUrl), Topics.defaults());
    } catch (RuntimeException e) {
      throw new CliException(ExitCode.API_ERROR, "schemas: " + e.getMessage(), e);
    }
    System.out.println("schemas: " + ids.size() + " registered " + ids);
    return ExitCode.OK;
  }
}
