package dev.reelflow.ingest;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A bounded view of render.lineage: the OpenLineage events (JSON, as produced) of the most recent
 * {@code maxRenders} renders, in topic order. render.lineage is not compacted (it is an event log
 * kept for its retention), so the view keeps only what the console asks about: renders are ordered
 * by their latest event, and the render whose latest event is oldest is evicted first, so a render
 * that is still running stays while finished ones age out.
 *
 * <p>Eviction is remembered (ids only, up to {@link #EVICTED_MEMORY_FACTOR} x {@code maxRenders}),
 * so the API can say "evicted" instead of showing an empty or partial history. Events of a render
 * that was evicted are dropped from then on for the same reason.
 */
final class LineageView {
  private static final Logger LOG = LoggerFactory.getLogger(LineageView.class);

  /** How many evicted ids are remembered, as a multiple of the renders kept. */
  static final int EVICTED_MEMORY_FACTOR = 10;

  /**
   * Events kept per render. A render emits START, one RUNNING per stage attempt and one final
   * event; attempts are bounded by the orchestrator's retry limit, far below this. The cap only
   * keeps a misbehaving producer from growing one render without bound.
   */
  static final int MAX_EVENTS_PER_RENDER = 256;

  private final int maxRenders;
  private final Map<String, List<byte[]>> events = new LinkedHashMap<>();
  private final Map<String, Boolean> evicted;
  private long evictions;
  private volatile boolean replayed;

  LineageView(int maxRenders) {
    if (maxRenders < 1) {
      throw new IllegalArgumentException("maxRenders must be >= 1: " + maxRenders);
    }
    this.maxRenders = maxRenders;
    long memory = (long) maxRenders * EVICTED_MEMORY_FACTOR;
    int cap = (int) Math.min(Integer.MAX_VALUE - 8, memory);
    this.evicted =
        new LinkedHashMap<>() {
          @Override
          protected boolean removeEldestEntry(Map.Entry<String, Boolean> eldest) {
            return size() > cap;
          }
        };
  }

  int maxRenders() {
    return maxRenders;
  }

  /**
   * The record value if it is a JSON object with an {@code eventType}; else an exception, which the
   * topic reader logs before it skips the record (one bad record must not break the array the API
   * returns).
   */
  static byte[] checked(ObjectMapper json, byte[] value) {
    JsonNode n;
    try {
      n = json.readTree(value);
    } catch (IOException e) {
      throw new IllegalArgumentException("lineage record is not JSON: " + e.getMessage(), e);
    }
    if (n == null || !n.isObject() || !n.path("eventType").isTextual()) {
      throw new IllegalArgumentException("lineage record is not an OpenLineage RunEvent object");
    }
    return value;
  }

  /** Appends one event (the JSON bytes of the record value) of a render. */
  synchronized void append(String requestId, byte[] json) {
    if (evicted.containsKey(requestId)) {
      return; // its earlier events are gone: holding the rest would show a history with a hole
    }
    List<byte[]> list = events.remove(requestId);
    if (list == null) {
      list = new ArrayList<>(4);
    }
    // Re-inserted: the map's order is the order of each render's latest event.
    events.put(requestId, list);
    if (list.size() >= MAX_EVENTS_PER_RENDER) {
      LOG.debug("Lineage event of {} not kept: the render is at the cap", requestId);
      return;
    }
    list.add(json);
    if (list.size() == MAX_EVENTS_PER_RENDER) {
      LOG.warn(
          "Render {} reached {} lineage events; later ones are not kept in the view",
          requestId,
          MAX_EVENTS_PER_RENDER);
    }
    while (events.size() > maxRenders) {
      Iterator<Map.Entry<String, List<byte[]>>> oldest = events.entrySet().iterator();
      String gone = oldest.next().getKey();
      oldest.remove();
      evicted.put(gone, Boolean.TRUE);
      evictions++;
    }
  }

  /** The render's events in topic order; empty when none are held. */
  synchronized Optional<List<byte[]>> get(String requestId) {
    List<byte[]> list = events.get(requestId);
    return list == null ? Optional.empty() : Optional.of(List.copyOf(list));
  }

  /** True when the render's events were evicted (and that is still remembered). */
  synchronized boolean wasEvicted(String requestId) {
    return evicted.containsKey(requestId);
  }

  /** True once any render was evicted: an absent render may then be one that was. */
  synchronized boolean evictedAny() {
    return evictions > 0;
  }

  synchronized int size() {
    return events.size();
  }

  /** Marks the end of the first replay of the topic. */
  void replayed() {
    replayed = true;
  }

  boolean isReplayed() {
    return replayed;
  }
}
