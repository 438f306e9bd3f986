package dev.reelflow.ingest;

import java.util.Map;
import java.util.NavigableSet;
import java.util.concurrent.ConcurrentSkipListMap;
import java.util.concurrent.ConcurrentSkipListSet;
import java.util.function.Predicate;

/**
 * One tenant's render ids in string order, for listing with a cursor. A batch's rows ({@code
 * b-<id>-000017}) share a group keyed by their common prefix {@code b-<id>-}: accepting a
 * 10,000-row batch then inserts into one small set instead of searching the tenant's whole history
 * for every row, which was the largest single cost of accepting a batch. Every id that starts with
 * a group's key belongs to that group, and a group key ends in {@code -}, below every character
 * that may follow {@code b-} in one, so ordering by group and then by id within it is exactly
 * string order.
 */
final class RenderIdIndex {
  /** The ids of one group; detached once emptied and removed, so a late add retries. */
  private static final class Group {
    final NavigableSet<String> ids = new ConcurrentSkipListSet<>();
    boolean detached;
  }

  /** The value of an id that is its own group. */
  private static final Group SINGLE = new Group();

  private final ConcurrentSkipListMap<String, Group> groups = new ConcurrentSkipListMap<>();

  /**
   * The group key of an id: {@code b-} followed by lower-case base32 characters and {@code -}, or
   * null when the id is its own group.
   */
  static String group(String id) {
    if (!id.startsWith("b-")) {
      return null;
    }
    for (int i = 2; i < id.length(); i++) {
      char c = id.charAt(i);
      if (c == '-') {
        return i > 2 ? id.substring(0, i + 1) : null;
      }
      if (!(c >= 'a' && c <= 'z' || c >= '2' && c <= '7')) {
        return null;
      }
    }
    return null;
  }

  void add(String id) {
    String key = group(id);
    if (key == null) {
      groups.putIfAbsent(id, SINGLE);
      return;
    }
    while (true) {
      Group g = groups.computeIfAbsent(key, k -> new Group());
      synchronized (g) {
        if (!g.detached) {
          g.ids.add(id);
          return;
        }
      }
    }
  }

  void remove(String id) {
    String key = group(id);
    if (key == null) {
      groups.remove(id, SINGLE);
      return;
    }
    Group g = groups.get(key);
    if (g != null) {
      synchronized (g) {
        if (g.ids.remove(id) && g.ids.isEmpty()) {
          g.detached = true;
          groups.remove(key, g);
        }
      }
    }
  }

  /** True when no id is held (an emptied group does not stay behind). */
  boolean isEmpty() {
    return groups.isEmpty();
  }

  /**
   * Visits the ids after {@code cursor} (exclusive; from the first when null) in string order until
   * the visitor returns false.
   */
  void forEachAfter(String cursor, Predicate<String> visitor) {
    Map<String, Group> from;
    String cursorGroup = cursor == null ? null : group(cursor);
    if (cursor == null) {
      from = groups;
    } else if (cursorGroup == null) {
      from = groups.tailMap(cursor, false);
    } else {
      from = groups.tailMap(cursorGroup, true);
    }
    for (Map.Entry<String, Group> e : from.entrySet()) {
      Group g = e.getValue();
      if (g == SINGLE) {
        if (!visitor.test(e.getKey())) {
          return;
        }
        continue;
      }
      Iterable<String> ids = e.getKey().equals(cursorGroup) ? g.ids.tailSet(cursor, false) : g.ids;
      for (String id : ids) {
        if (!visitor.test(id)) {
          return;
        }
      }
    }
  }
}
