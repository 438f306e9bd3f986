package dev.reelflow.e2e;

import dev.reelflow.schemas.avro.RenderState;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * What a fault scenario did, as its client saw it: every render the API acknowledged (202 and an
 * id), every cancel the API accepted, every poison record injected on a topic, and when the fault
 * was healed. {@link RenderHistoryChecker} compares it with what the pipeline published. Safe for
 * concurrent recording (a burst submits from several threads).
 */
final class RenderHistory {

  /** A render the API acknowledged with 202. */
  record Ack(String requestId, Instant at) {}

  /** A record injected on {@code topic} that must end on render.dlq. */
  record Poison(String topic, int partition, long offset, String kind) {}

  private final String scenario;
  private final Instant started = Instant.now();
  private final Map<String, Ack> acks = new LinkedHashMap<>();
  private final Map<String, RenderState> expected = new LinkedHashMap<>();
  private final List<Poison> poison = new ArrayList<>();
  private int submitted;
  private Instant healedAt;
  private Long orchestratorFenced;
  private Long orchestratorAfterFinal;
  private boolean exactLateEvents;

  RenderHistory(String scenario) {
    this.scenario = scenario;
  }

  String scenario() {
    return scenario;
  }

  /** When the history began: dead letters published before it belong to earlier scenarios. */
  Instant started() {
    return started;
  }

  /** A submission was attempted (acknowledged or not). */
  synchronized void submitted() {
    submitted++;
  }

  /** The API acknowledged {@code requestId} (202). */
  synchronized void acknowledged(String requestId) {
    acks.putIfAbsent(requestId, new Ack(requestId, Instant.now()));
  }

  /** The final state this render must reach (default: SUCCEEDED). */
  synchronized void expect(String requestId, RenderState state) {
    expected.put(requestId, state);
  }

  /** A poison record was written at {@code topic}/{@code partition}@{@code offset}. */
  synchronized void poisoned(String topic, int partition, long offset, String kind) {
    poison.add(new Poison(topic, partition, offset, kind));
  }

  /** The fault was healed now (SIGCONT, a replacement started, the worker killed). */
  synchronized void healed() {
    healed(Instant.now());
  }

  synchronized void healed(Instant at) {
    healedAt = at;
  }

  synchronized int submittedCount() {
    return Math.max(submitted, acks.size());
  }

  synchronized List<Ack> acks() {
    return List.copyOf(acks.values());
  }

  synchronized RenderState expectedState(String requestId) {
    return expected.getOrDefault(requestId, RenderState.SUCCEEDED);
  }

  synchronized Map<String, RenderState> expectations() {
    return Collections.unmodifiableMap(new LinkedHashMap<>(expected));
  }

  synchronized List<Poison> poison() {
    return List.copyOf(poison);
  }

  /**
   * Stage events the orchestrator refused during the scenario (its {@code lifecycle.fencedEvents}
   * counter, end minus start), when the scenario could read it.
   */
  synchronized void orchestratorFenced(long events) {
    orchestratorFenced = events;
  }

  synchronized Optional<Long> orchestratorFenced() {
    return Optional.ofNullable(orchestratorFenced);
  }

  /**
   * Stage events the orchestrator dropped because their render was already final (its {@code
   * lifecycle.eventsAfterFinal} counter, end minus start), when the scenario could read it.
   */
  synchronized void orchestratorAfterFinal(long events) {
    orchestratorAfterFinal = events;
  }

  synchronized Optional<Long> orchestratorAfterFinal() {
    return Optional.ofNullable(orchestratorAfterFinal);
  }

  /**
   * Asks the checker to require that the late events it finds on the topic (fenced plus after
   * final) equal the orchestrator's two counters. Only for scenarios where no event can cross a
   * final state decided without one (a cancel, a deadline): there the checker has only the send
   * time, not the orchestrator's reading order, to place an event before or after it.
   */
  synchronized void requireExactLateEvents() {
    exactLateEvents = true;
  }

  synchronized boolean exactLateEvents() {
    return exactLateEvents;
  }

  synchronized Optional<Instant> healedAt() {
    return Optional.ofNullable(healedAt);
  }
}
