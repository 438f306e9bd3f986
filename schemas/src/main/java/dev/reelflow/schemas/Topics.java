package dev.reelflow.schemas;

import java.util.ArrayList;
import java.util.Collections;
import java.util.EnumMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The topic catalogue of one deployment: every {@link Topic} with its partition count (the defaults
 * of {@link Topic} unless overridden) and its topic configs. Immutable.
 *
 * <p>Overrides come from code ({@link Builder#partitions}) or from properties ({@link
 * #fromProperties}) with the key {@value #PARTITIONS_PREFIX}{@code <topic name>}, for example
 * {@code reelflow.topics.partitions.render.tasks.base=32}.
 */
public final class Topics {

  /** Property prefix of the partition overrides; the topic name follows. */
  public static final String PARTITIONS_PREFIX = "reelflow.topics.partitions.";

  public static final String REQUESTS = "render.requests";
  public static final String COMMANDS = "render.commands";
  public static final String TASKS_BASE = "render.tasks.base";
  public static final String TASKS_UPSCALE = "render.tasks.upscale";
  public static final String STAGE_EVENTS = "render.stage-events";
  public static final String WORKER_EVENTS = "render.worker-events";
  public static final String STATUS = "render.status";
  public static final String LINEAGE = "render.lineage";
  public static final String DLQ = "render.dlq";
  public static final String SCHEDULES = "render.schedules";

  private static final Topics DEFAULTS = builder().build();

  private final Map<Topic, Spec> specs;

  private Topics(Map<Topic, Spec> specs) {
    this.specs = Collections.unmodifiableMap(specs);
  }

  /**
   * One topic as this deployment provisions it.
   *
   * @param topic the catalogue entry
   * @param name Kafka topic name
   * @param partitions partition count
   * @param configs topic configs to create it with ({@code cleanup.policy}, {@code retention.ms})
   */
  public record Spec(Topic topic, String name, int partitions, Map<String, String> configs) {
    public Spec {
      configs = Map.copyOf(configs);
    }
  }

  /** The catalogue with every default. */
  public static Topics defaults() {
    return DEFAULTS;
  }

  /** A builder starting from the defaults. */
  public static Builder builder() {
    return new Builder();
  }

  /**
   * The defaults with partition overrides read from {@code props}: keys {@value
   * #PARTITIONS_PREFIX}{@code <topic name>}; other keys are ignored.
   *
   * @throws IllegalArgumentException on an unknown topic name or a count that is not a positive
   *     integer
   */
  public static Topics fromProperties(Map<String, ?> props) {
    Builder b = builder();
    for (Map.Entry<String, ?> e : props.entrySet()) {
      if (!e.getKey().startsWith(PARTITIONS_PREFIX)) {
        continue;
      }
      Topic topic = Topic.byName(e.getKey().substring(PARTITIONS_PREFIX.length()));
      String raw = String.valueOf(e.getValue()).trim();
      int n;
      try {
        n = Integer.parseInt(raw);
      } catch (NumberFormatException ex) {
        throw new IllegalArgumentException(
            e.getKey() + " must be a positive integer, got '" + raw + "'", ex);
      }
      b.partitions(topic, n);
    }
    return b.build();
  }

  /** The spec of one topic. */
  public Spec spec(Topic topic) {
    return specs.get(topic);
  }

  /** Partition count of one topic. */
  public int partitions(Topic topic) {
    return specs.get(topic).partitions();
  }

  /** Every spec, in catalogue order. */
  public List<Spec> specs() {
    return List.copyOf(specs.values());
  }

  /** Every topic name, in catalogue order. */
  public List<String> names() {
    List<String> names = new ArrayList<>();
    for (Spec s : specs.values()) {
      names.add(s.name());
    }
    return names;
  }

  @Override
  public String toString() {
    Map<String, Integer> shown = new LinkedHashMap<>();
    specs.values().forEach(s -> shown.put(s.name(), s.partitions()));
    return "Topics" + shown;
  }

  /** Builder of a {@link Topics}; starts from the defaults of {@link Topic}. */
  public static final class Builder {
    private final Map<Topic, Integer> partitions = new EnumMap<>(Topic.class);

    private Builder() {}

    /**
     * Overrides the partition count of one topic.
     *
     * @throws IllegalArgumentException when {@code count} is not positive
     */
    public Builder partitions(Topic topic, int count) {
      if (topic == null) {
        throw new IllegalArgumentException("topic is null");
      }
      if (count < 1) {
        throw new IllegalArgumentException(
            "partitions of " + topic.topicName() + " must be >= 1, got " + count);
      }
      partitions.put(topic, count);
      return this;
    }

    public Topics build() {
      Map<Topic, Spec> specs = new EnumMap<>(Topic.class);
      for (Topic t : Topic.values()) {
        Map<String, String> configs = new LinkedHashMap<>();
        configs.put("cleanup.policy", t.cleanupPolicy());
        t.retention().ifPresent(r -> configs.put("retention.ms", Long.toString(r.toMillis())));
        specs.put(
            t,
            new Spec(t, t.topicName(), partitions.getOrDefault(t, t.defaultPartitions()), configs));
      }
      return new Topics(specs);
    }
  }
}
