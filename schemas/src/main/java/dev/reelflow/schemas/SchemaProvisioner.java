package dev.reelflow.schemas;

import dev.reelflow.schemas.registry.SchemaRegistryClient;
import java.util.LinkedHashMap;
import java.util.Map;
import org.apache.avro.Schema;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Registers the value schema of every Avro topic under its TopicNameStrategy subject ({@code
 * <topic>-value}). Idempotent: the registry answers the existing id for a schema it already has.
 */
public final class SchemaProvisioner {
  private static final Logger LOG = LoggerFactory.getLogger(SchemaProvisioner.class);

  private SchemaProvisioner() {}

  /**
   * Registers every value schema of the catalogue.
   *
   * @return schema id by subject, in catalogue order
   * @throws dev.reelflow.schemas.registry.SchemaRegistryException e.g. 409 when a subject holds a
   *     schema the new one is not compatible with
   */
  public static Map<String, Integer> registerAll(SchemaRegistryClient client, Topics topics) {
    Map<String, Integer> ids = new LinkedHashMap<>();
    for (Topics.Spec spec : topics.specs()) {
      Topic topic = spec.topic();
      if (topic.valueSchema().isEmpty()) {
        continue;
      }
      Schema schema = topic.valueSchema().get();
      String subject = spec.name() + "-value";
      int id = client.register(subject, schema);
      ids.put(subject, id);
      LOG.info("schema {} registered under {} with id {}", schema.getFullName(), subject, id);
    }
    return ids;
  }
}
