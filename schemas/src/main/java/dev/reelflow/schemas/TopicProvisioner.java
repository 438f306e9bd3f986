package dev.reelflow.schemas;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.Config;
import org.apache.kafka.clients.admin.ConfigEntry;
import org.apache.kafka.clients.admin.CreateTopicsResult;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.admin.TopicDescription;
import org.apache.kafka.common.KafkaFuture;
import org.apache.kafka.common.config.ConfigResource;
import org.apache.kafka.common.errors.TopicExistsException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Creates the topics of a {@link Topics} catalogue that are missing and checks the ones that exist.
 * Idempotent: running it again (or from several processes at once) creates nothing twice.
 *
 * <p>Topics are created with the replication factor given, else min(3, brokers), and with {@code
 * min.insync.replicas=2} when that factor is 3 or more. Existing topics are never altered; a
 * partition count or cleanup policy that differs from the catalogue is reported as a warning
 * (logged and returned), because changing partitions of a keyed topic moves keys and is an
 * operator's decision.
 */
public final class TopicProvisioner {
  private static final Logger LOG = LoggerFactory.getLogger(TopicProvisioner.class);

  private final Map<String, Object> adminConfig;
  private final Admin admin;
  private final Topics topics;
  private final Short replicationFactor;
  private final Duration timeout;

  /**
   * What a run did.
   *
   * @param created topics created by this run
   * @param existing topics that were already there
   * @param warnings differences between existing topics and the catalogue
   */
  public record Result(List<String> created, List<String> existing, List<String> warnings) {
    public Result {
      created = List.copyOf(created);
      existing = List.copyOf(existing);
      warnings = List.copyOf(warnings);
    }
  }

  private TopicProvisioner(Builder b) {
    this.adminConfig = b.adminConfig;
    this.admin = b.admin;
    this.topics = b.topics;
    this.replicationFactor = b.replicationFactor;
    this.timeout = b.timeout;
  }

  public static Builder builder() {
    return new Builder();
  }

  /**
   * Creates what is missing, checks what exists.
   *
   * @throws IllegalStateException when Kafka cannot be reached or refuses a topic, with the cause
   */
  public Result provision() {
    if (admin != null) {
      return provision(admin);
    }
    try (Admin owned = Admin.create(adminConfig)) {
      return provision(owned);
    }
  }

  private Result provision(Admin admin) {
    int brokers = get(admin.describeCluster().nodes(), "describe the cluster").size();
    short rf = replicationFactor != null ? replicationFactor : (short) Math.min(3, brokers);
    if (rf > brokers) {
      throw new IllegalStateException(
          "replication factor " + rf + " is larger than the " + brokers + " broker(s) available");
    }
    Set<String> present = get(admin.listTopics().names(), "list topics");
    List<NewTopic> missing = new ArrayList<>();
    List<String> existing = new ArrayList<>();
    for (Topics.Spec spec : topics.specs()) {
      if (present.contains(spec.name())) {
        existing.add(spec.name());
      } else {
        Map<String, String> configs = new HashMap<>(spec.configs());
        if (rf >= 3) {
          // With three copies, an acknowledged write survives the loss of one broker.
          configs.putIfAbsent("min.insync.replicas", "2");
        }
        missing.add(new NewTopic(spec.name(), spec.partitions(), rf).configs(configs));
      }
    }
    List<String> created = new ArrayList<>();
    if (!missing.isEmpty()) {
      CreateTopicsResult result = admin.createTopics(missing);
      for (Map.Entry<String, KafkaFuture<Void>> e : result.values().entrySet()) {
        try {
          e.getValue().get(timeout.toMillis(), TimeUnit.MILLISECONDS);
          created.add(e.getKey());
          LOG.info("created topic {}", e.getKey());
        } catch (ExecutionException ex) {
          if (ex.getCause() instanceof TopicExistsException) {
            // Another process created it between our listing and our request.
            existing.add(e.getKey());
          } else {
            throw new IllegalStateException(
                "cannot create topic " + e.getKey() + ": " + ex.getCause(), ex.getCause());
          }
        } catch (TimeoutException ex) {
          throw new IllegalStateException(
              "creating topic " + e.getKey() + " took longer than " + timeout, ex);
        } catch (InterruptedException ex) {
          Thread.currentThread().interrupt();
          throw new IllegalStateException("interrupted while creating topics", ex);
        }
      }
    }
    List<String> warnings = existing.isEmpty() ? List.of() : verify(admin, existing);
    return new Result(created, existing, warnings);
  }

  private List<String> verify(Admin admin, Collection<String> names) {
    Map<String, TopicDescription> descriptions =
        get(admin.describeTopics(names).allTopicNames(), "describe topics");
    List<ConfigResource> resources = new ArrayList<>();
    names.forEach(n -> resources.add(new ConfigResource(ConfigResource.Type.TOPIC, n)));
    Map<ConfigResource, Config> configs =
        get(admin.describeConfigs(resources).all(), "describe topic configs");
    Map<String, String> byName = new LinkedHashMap<>();
    List<String> warnings = new ArrayList<>();
    for (Topics.Spec spec : topics.specs()) {
      TopicDescription d = descriptions.get(spec.name());
      if (d == null) {
        continue;
      }
      int actual = d.partitions().size();
      if (actual != spec.partitions()) {
        warnings.add(
            spec.name()
                + " has "
                + actual
                + " partitions, the catalogue says "
                + spec.partitions()
                + " (left as is)");
      }
      Config c = configs.get(new ConfigResource(ConfigResource.Type.TOPIC, spec.name()));
      ConfigEntry policy = c == null ? null : c.get("cleanup.policy");
      String wanted = spec.configs().get("cleanup.policy");
      if (policy != null && wanted != null && !policy.value().equals(wanted)) {
        warnings.add(
            spec.name()
                + " has cleanup.policy="
                + policy.value()
                + ", the catalogue says "
                + wanted
                + " (left as is)");
      }
      byName.put(spec.name(), actual + " partitions");
    }
    warnings.forEach(w -> LOG.warn("topic check: {}", w));
    LOG.debug("existing topics verified: {}", byName);
    return warnings;
  }

  private <V> V get(KafkaFuture<V> future, String what) {
    try {
      return future.get(timeout.toMillis(), TimeUnit.MILLISECONDS);
    } catch (ExecutionException e) {
      throw new IllegalStateException("cannot " + what + ": " + e.getCause(), e.getCause());
    } catch (TimeoutException e) {
      throw new IllegalStateException(
          "cannot "
              + what
              + " within "
              + timeout
              + ": is Kafka reachable at the configured "
              + AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG
              + "?",
          e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted while trying to " + what, e);
    }
  }

  /** Builder; {@link #bootstrapServers}, {@link #adminConfig} or {@link #admin} is required. */
  public static final class Builder {
    private Map<String, Object> adminConfig;
    private Admin admin;
    private Topics topics = Topics.defaults();
    private Short replicationFactor;
    private Duration timeout = Duration.ofSeconds(30);

    private Builder() {}

    public Builder bootstrapServers(String bootstrapServers) {
      Map<String, Object> c = new HashMap<>();
      c.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers);
      return adminConfig(c);
    }

    /** Admin client properties (security settings etc.); a client is created per run. */
    public Builder adminConfig(Map<String, Object> adminConfig) {
      this.adminConfig = new HashMap<>(adminConfig);
      return this;
    }

    /** An admin client owned by the caller (not closed here). */
    public Builder admin(Admin admin) {
      this.admin = admin;
      return this;
    }

    public Builder topics(Topics topics) {
      this.topics = topics;
      return this;
    }

    /** Replication factor of created topics; default min(3, number of brokers). */
    public Builder replicationFactor(int replicationFactor) {
      if (replicationFactor < 1 || replicationFactor > Short.MAX_VALUE) {
        throw new IllegalArgumentException(
            "replication factor must be >= 1, got " + replicationFactor);
      }
      this.replicationFactor = (short) replicationFactor;
      return this;
    }

    /** Timeout of each admin call; default 30 s. */
    public Builder timeout(Duration timeout) {
      if (timeout == null || timeout.isNegative() || timeout.isZero()) {
        throw new IllegalArgumentException("timeout must be positive, got " + timeout);
      }
      this.timeout = timeout;
      return this;
    }

    public TopicProvisioner build() {
      if (admin == null && adminConfig == null) {
        throw new IllegalArgumentException(
            "bootstrapServers(..), adminConfig(..) or admin(..) is required");
      }
      if (topics == null) {
        throw new IllegalArgumentException("topics is null");
      }
      return new TopicProvisioner(this);
    }
  }
}
