package dev.reelflow.orchestrator;

import static dev.reelflow.orchestrator.OrchestratorSettings.CHECKPOINT_INTERVAL;
import static dev.reelflow.orchestrator.OrchestratorSettings.DELIVERY_EVENTS;
import static dev.reelflow.orchestrator.OrchestratorSettings.DELIVERY_TASKS;
import static dev.reelflow.orchestrator.OrchestratorSettings.LEASE;
import static dev.reelflow.orchestrator.OrchestratorSettings.TRANSACTION_TIMEOUT;

import dev.reelflow.config.ConfigValues;
import dev.reelflow.config.Durations;
import dev.reelflow.config.Setting;
import java.time.Duration;

/**
 * The rules that tie orchestrator settings to each other and to the broker, all about what a Kafka
 * transaction must outlast: exactly-once task records reach the workers only at a checkpoint, so
 * the lease must cover more than two checkpoint intervals; a transaction stays open for a whole
 * interval, so its timeout must be at least twice the interval and at most the broker's {@code
 * transaction.max.timeout.ms}. Each setting alone is checked by its {@link Setting}.
 */
final class TransactionTimingRules {

  private TransactionTimingRules() {}

  /**
   * Checks the rules between the settings of {@code v}.
   *
   * @throws OrchestratorConfigException naming the settings, their values and sources
   */
  static void check(ConfigValues v) {
    Duration interval = v.get(CHECKPOINT_INTERVAL);
    if (v.get(DELIVERY_TASKS).equals("exactly_once")
        && v.get(LEASE).compareTo(interval.multipliedBy(2)) <= 0) {
      // A worker fences a task whose lease ran out before it started: the lease must cover the
      // wait for the checkpoint that makes the task record visible.
      throw new OrchestratorConfigException(
          shown(v, LEASE)
              + " must be more than twice "
              + shown(v, CHECKPOINT_INTERVAL)
              + " when "
              + DELIVERY_TASKS
              + " is exactly_once: task records become visible to the workers only at a"
              + " checkpoint; raise the lease, shorten the interval, or use at_least_once tasks"
              + " (the default; the workers drop duplicates)");
    }
    if (v.get(DELIVERY_EVENTS).equals("exactly_once")
        && v.get(TRANSACTION_TIMEOUT).compareTo(interval.multipliedBy(2)) < 0) {
      throw new OrchestratorConfigException(
          shown(v, TRANSACTION_TIMEOUT)
              + " must be at least twice "
              + shown(v, CHECKPOINT_INTERVAL)
              + ": a transaction stays open for a whole checkpoint interval; raise the timeout"
              + " or shorten the interval");
    }
  }

  /**
   * Refuses a transaction timeout above the broker's {@code transaction.max.timeout.ms}: the
   * producer would be fenced at its first transaction.
   *
   * @throws OrchestratorConfigException naming both values
   */
  static void checkBrokerLimit(Duration transactionTimeout, long brokerMaxMillis) {
    if (transactionTimeout.toMillis() > brokerMaxMillis) {
      throw new OrchestratorConfigException(
          TRANSACTION_TIMEOUT
              + " ("
              + Durations.format(transactionTimeout)
              + ") exceeds the broker's transaction.max.timeout.ms ("
              + brokerMaxMillis
              + " ms); lower the timeout or raise the broker limit");
    }
  }

  /** {@code task.lease (4s, default)}. */
  private static String shown(ConfigValues v, Setting<Duration> s) {
    return s.name() + " (" + Durations.format(v.get(s)) + ", " + v.source(s.name()) + ")";
  }
}
