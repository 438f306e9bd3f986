package dev.reelflow.ingest;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Used Idempotency-Keys, shared by every ingest instance through the compacted topic {@code
 * render.idempotency} (ingest-private; key: SHA-256 of tenant and key; value: a small JSON object
 * {@code {tenant, id, fingerprint, kind, count, createdAt}}).
 *
 * <p>The id a key maps to is derived from tenant and key ({@link Ids#derived}), so two instances
 * that race on a first use publish the same id and the orchestrator dedupes it. The ledger adds the
 * body check: a key reused with a different body (another fingerprint) is a 409. Before deciding,
 * the server catches the ledger up to the topic's end, so a key used on another instance a moment
 * ago is seen. On one instance, requests with the same key take turns ({@link #lock}), so only
 * requests racing on different instances can both publish (the same id).
 */
final class IdempotencyLedger {
  /** What a key was first used for. */
  record Entry(
      String tenant, String id, String fingerprint, String kind, int count, long createdAt) {}

  private final Map<String, Entry> byKey = new ConcurrentHashMap<>();
  private final java.util.concurrent.locks.Lock[] stripes =
      new java.util.concurrent.locks.Lock[256];
  private final ObjectMapper json;

  IdempotencyLedger(ObjectMapper json) {
    this.json = json;
    for (int i = 0; i < stripes.length; i++) {
      stripes[i] = new java.util.concurrent.locks.ReentrantLock();
    }
  }

  static String recordKey(String tenant, String idempotencyKey) {
    return Ids.sha256Hex(
        (tenant + "\n" + idempotencyKey).getBytes(java.nio.charset.StandardCharsets.UTF_8));
  }

  /**
   * The lock that requests with this key hold on this instance from the ledger check until their
   * entry is remembered (striped: unrelated keys may share one).
   */
  java.util.concurrent.locks.Lock lock(String tenant, String idempotencyKey) {
    return stripes[Math.floorMod(recordKey(tenant, idempotencyKey).hashCode(), stripes.length)];
  }

  Optional<Entry> find(String tenant, String idempotencyKey) {
    return Optional.ofNullable(byKey.get(recordKey(tenant, idempotencyKey)));
  }

  void remember(String recordKey, Entry e) {
    byKey.putIfAbsent(recordKey, e);
  }

  /** Applies a record from the topic; the first use of a key wins. */
  void apply(String recordKey, byte[] value) {
    if (value == null) {
      byKey.remove(recordKey);
      return;
    }
    try {
      JsonNode n = json.readTree(value);
      remember(
          recordKey,
          new Entry(
              n.path("tenant").asText(),
              n.path("id").asText(),
              n.path("fingerprint").asText(),
              n.path("kind").asText("render"),
              n.path("count").asInt(1),
              n.path("createdAt").asLong()));
    } catch (IOException e) {
      throw new IllegalArgumentException("Unreadable idempotency record: " + e.getMessage(), e);
    }
  }

  byte[] encode(Entry e) {
    ObjectNode n = json.createObjectNode();
    n.put("tenant", e.tenant()).put("id", e.id()).put("fingerprint", e.fingerprint());
    n.put("kind", e.kind()).put("count", e.count()).put("createdAt", e.createdAt());
    try {
      return json.writeValueAsBytes(n);
    } catch (IOException ex) {
      throw new IllegalStateException(ex);
    }
  }
}
