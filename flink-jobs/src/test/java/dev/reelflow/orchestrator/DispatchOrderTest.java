package dev.reelflow.orchestrator;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;

class DispatchOrderTest {

  @Test
  void fiftyThousandRowBatchCannotStarveASingleRender() {
    DispatchOrder o = new DispatchOrder(1, 60_000, null, null);
    for (int i = 0; i < 50_000; i++) {
      o.add(o.entry("bulk-" + i, "bulk", 5, null, i));
    }
    o.add(o.entry("single", "solo", 5, null, 50_000));
    List<String> first = List.of(o.next().requestId(), o.next().requestId());
    assertThat(first).contains("single");
  }

  @Test
  void previewMatchesTheReleaseOrder() {
    DispatchOrder o = new DispatchOrder(2, 60_000, null, null);
    Random rnd = new Random(3);
    for (int i = 0; i < 300; i++) {
      o.add(o.entry("r" + i, "t" + rnd.nextInt(5), rnd.nextInt(3), null, i));
    }
    List<String> preview = o.preview(300).stream().map(DispatchOrder.Entry::requestId).toList();
    List<String> taken = new ArrayList<>();
    while (!o.isEmpty()) {
      taken.add(o.next().requestId());
    }
    assertThat(preview).isEqualTo(taken);
  }

  /**
   * Property: with random tenants, sizes and priorities (all queued up front), releases never go to
   * a lower priority while a higher one waits, and inside one priority any two tenants that both
   * still have tasks of it never differ by more than the quantum.
   */
  @Test
  void deficitRoundRobinBoundHoldsForRandomWorkloads() {
    for (int seed = 0; seed < 200; seed++) {
      Random rnd = new Random(seed);
      int quantum = 1 + rnd.nextInt(3);
      DispatchOrder o = new DispatchOrder(quantum, 60_000, null, null);
      int tenants = 2 + rnd.nextInt(6);
      Map<String, Map<Integer, Integer>> remaining = new HashMap<>();
      long seq = 0;
      for (int t = 0; t < tenants; t++) {
        int n = 1 + rnd.nextInt(120);
        for (int i = 0; i < n; i++) {
          int prio = rnd.nextInt(3) * 3;
          String tenant = "tenant-" + t;
          o.add(o.entry(tenant + "-" + i, tenant, prio, null, seq++));
          remaining.computeIfAbsent(tenant, k -> new HashMap<>()).merge(prio, 1, Integer::sum);
        }
      }
      int lastPriority = Integer.MAX_VALUE;
      Map<String, Integer> servedInClass = new HashMap<>();
      DispatchOrder.Entry e;
      while ((e = o.next()) != null) {
        assertThat(e.priority()).as("seed %d", seed).isLessThanOrEqualTo(lastPriority);
        if (e.priority() != lastPriority) {
          servedInClass.clear();
          lastPriority = e.priority();
        }
        remaining.get(e.tenant()).merge(e.priority(), -1, Integer::sum);
        servedInClass.merge(e.tenant(), 1, Integer::sum);
        // Tenants still backlogged in this class after this release.
        int p = e.priority();
        List<Integer> counts = new ArrayList<>();
        for (Map.Entry<String, Map<Integer, Integer>> r : remaining.entrySet()) {
          if (r.getValue().getOrDefault(p, 0) > 0) {
            counts.add(servedInClass.getOrDefault(r.getKey(), 0));
          }
        }
        if (counts.size() >= 2) {
          int max = counts.stream().mapToInt(Integer::intValue).max().getAsInt();
          int min = counts.stream().mapToInt(Integer::intValue).min().getAsInt();
          assertThat(max - min)
              .as("seed %d quantum %d", seed, quantum)
              .isLessThanOrEqualTo(quantum);
        }
      }
    }
  }

  @Test
  void estimatesCountBetterClassesAndShareTheOwnClass() {
    DispatchOrder o = new DispatchOrder(1, 60_000, null, null);
    for (int i = 0; i < 10; i++) {
      o.add(o.entry("hi" + i, "a", 9, null, i));
    }
    for (int i = 0; i < 10; i++) {
      o.add(o.entry("x" + i, "x", 5, null, 100 + i));
      o.add(o.entry("y" + i, "y", 5, null, 200 + i));
    }
    Map<String, Long> est = o.estimates();
    assertThat(est.get("hi0")).isEqualTo(0);
    assertThat(est.get("x0")).isEqualTo(10);
    assertThat(est.get("x4")).isEqualTo(18);
    List<String> exact = o.preview(30).stream().map(DispatchOrder.Entry::requestId).toList();
    assertThat(Math.abs(exact.indexOf("x4") - est.get("x4"))).isLessThanOrEqualTo(1);
  }
}
