package dev.reelflow.ingest;

import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentSkipListMap;
import java.util.function.Predicate;

/**
 * One tenant's render ids in string order, for listing with a cursor. A batch's rows ({@code
 * b-<id>-000017}) share a group keyed by their common prefix {@code b-<id>-}: accepting a
 * 10,000-row batch then appends to one sorted array (its rows come in order) instead of searching
 * the tenant's whole history for every row, which was the largest single cost of accepting a batch;
 * the array holds a reference per row where a skip list held a node and its index towers. Every id
 * that starts with a group's key belongs to that group, and a group key ends in {@code -}, below
 * every character that may follow {@code b-} in one, so ordering by group and then by id within it
 * is exactly string order.
 */
final class RenderIdIndex {
  /**
   * The ids of one group, sorted, guarded by the group's monitor; detached once emptied and
   * removed, so a late add retries.
   */
  private static final class Group {
    String[] ids = new String[4];
    int size;
    boolean detached;

    /** Inserts in order; false when present. Rows of a batch arrive in order: an append. */
    boolean add(String id) {
      int at =
          size > 0 && ids[size - 1].compareTo(id) < 0
              ? size
              : Arrays.binarySearch(ids, 0, size, id);
      if (at < 0) {
        at = -at - 1;
      } else if (at < size) {
        return false;
      }
      if (size == ids.length) {
        ids = Arrays.copyOf(ids, Math.max(4, size + (size >> 1)));
      }
      System.arraycopy(ids, at, ids, at + 1, size - at);
      ids[at] = id;
      size++;
      return true;
    }

    /** Room for {@code more} ids without growing: a batch's rows arrive together. */
    void reserve(int more) {
      if (size + more > ids.length) {
        ids = Arrays.copyOf(ids, size + more);
      }
    }

    boolean remove(String id) {
      int at = Arrays.binarySearch(ids, 0, size, id);
      if (at < 0) {
        return false;
      }
      System.arraycopy(ids, at + 1, ids, at, size - at - 1);
      ids[--size] = null;
      return true;
    }

    /** Index of the first id after {@code cursor}, or 0 without one. */
    int after(String cursor) {
      if (cursor == null) {
        return 0;
      }
      int at = Arrays.binarySearch(ids, 0, size, cursor);
      return at >= 0 ? at + 1 : -at - 1;
    }
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

  /**
   * True when {@code id} is a row of batch {@code batchId} by its form ({@code <batchId>-...} with
   * a batch id that is a group key without its {@code -}): the same as {@code
   * group(id).equals(batchId + "-")}, without building the key.
   */
  static boolean isRowOf(String id, String batchId) {
    int n = batchId.length();
    if (n < 3 || id.length() <= n || id.charAt(n) != '-' || !id.startsWith(batchId)) {
      return false;
    }
    if (!batchId.startsWith("b-")) {
      return false;
    }
    for (int i = 2; i < n; i++) {
      char c = batchId.charAt(i);
      if (!(c >= 'a' && c <= 'z' || c >= '2' && c <= '7')) {
        return false;
      }
    }
    return true;
  }

  void add(String id) {
    addAll(List.of(id));
  }

  /** Adds ids; a run of ids of one group (a batch's rows) takes its lock once. */
  void addAll(List<String> ids) {
    int i = 0;
    while (i < ids.size()) {
      String key = group(ids.get(i));
      if (key == null) {
        groups.putIfAbsent(ids.get(i++), SINGLE);
        continue;
      }
      int end = i + 1;
      // every id that starts with a group's key is in that group
      while (end < ids.size() && ids.get(end).startsWith(key)) {
        end++;
      }
      List<String> run = ids.subList(i, end);
      while (true) {
        Group g = groups.computeIfAbsent(key, k -> new Group());
        synchronized (g) {
          if (!g.detached) {
            g.reserve(run.size());
            run.forEach(g::add);
            break;
          }
        }
      }
      i = end;
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
        if (g.remove(id) && g.size == 0) {
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

  /** A copy of the ids of one group ({@code b-<id>-}), sorted; empty when it has none. */
  List<String> idsOf(String key) {
    Group g = groups.get(key);
    if (g == null || g == SINGLE) {
      return List.of();
    }
    synchronized (g) {
      return Arrays.asList(Arrays.copyOf(g.ids, g.size));
    }
  }

  /**
   * Visits the ids after {@code cursor} (exclusive; from the first when null) in string order until
   * the visitor returns false. A group's ids are visited under its lock: the visitor must not
   * block.
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
      synchronized (g) {
        for (int i = e.getKey().equals(cursorGroup) ? g.after(cursor) : 0; i < g.size; i++) {
          if (!visitor.test(g.ids[i])) {
            return;
          }
        }
      }
    }
  }
}
