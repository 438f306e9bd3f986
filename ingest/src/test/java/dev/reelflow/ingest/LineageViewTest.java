package dev.reelflow.ingest;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.charset.StandardCharsets;
import java.util.List;
import org.junit.jupiter.api.Test;

class LineageViewTest {

  private static byte[] event(String type) {
    return ("{\"eventType\":\"" + type + "\"}").getBytes(StandardCharsets.UTF_8);
  }

  private static List<String> types(LineageView view, String id) {
    return view.get(id).orElseThrow().stream()
        .map(b -> new String(b, StandardCharsets.UTF_8))
        .toList();
  }

  @Test
  void keepsEventsInArrivalOrder() {
    LineageView view = new LineageView(10);
    view.append("r1", event("START"));
    view.append("r2", event("START"));
    view.append("r1", event("RUNNING"));
    view.append("r1", event("COMPLETE"));
    assertThat(types(view, "r1"))
        .containsExactly(
            "{\"eventType\":\"START\"}",
            "{\"eventType\":\"RUNNING\"}",
            "{\"eventType\":\"COMPLETE\"}");
    assertThat(view.get("r3")).isEmpty();
    assertThat(view.evictedAny()).isFalse();
  }

  @Test
  void evictsTheRenderWhoseLatestEventIsOldestAndRemembersIt() {
    LineageView view = new LineageView(2);
    view.append("r1", event("START"));
    view.append("r2", event("START"));
    // r1 moves ahead of r2: its latest event is now the newest.
    view.append("r1", event("RUNNING"));
    view.append("r3", event("START"));
    assertThat(view.size()).isEqualTo(2);
    assertThat(view.get("r2")).isEmpty();
    assertThat(view.wasEvicted("r2")).isTrue();
    assertThat(view.wasEvicted("r1")).isFalse();
    assertThat(types(view, "r1")).hasSize(2);
    assertThat(view.evictedAny()).isTrue();
    // A late event of an evicted render is not held: its history would have a hole.
    view.append("r2", event("COMPLETE"));
    assertThat(view.get("r2")).isEmpty();
    assertThat(view.size()).isEqualTo(2);
  }

  @Test
  void boundsTheEventsOfOneRenderAndTheEvictedMemory() {
    LineageView view = new LineageView(1);
    for (int i = 0; i < LineageView.MAX_EVENTS_PER_RENDER + 10; i++) {
      view.append("r1", event("RUNNING"));
    }
    assertThat(types(view, "r1")).hasSize(LineageView.MAX_EVENTS_PER_RENDER);
    for (int i = 0; i < 100; i++) {
      view.append("x" + i, event("START"));
    }
    assertThat(view.size()).isEqualTo(1);
    // Only the last EVICTED_MEMORY_FACTOR x maxRenders evicted ids are remembered.
    assertThat(view.wasEvicted("r1")).isFalse();
    assertThat(view.wasEvicted("x98")).isTrue();
    assertThat(view.evictedAny()).isTrue();
  }

  @Test
  void onlyRunEventObjectsAreAccepted() {
    var json = IngestServer.newMapper();
    assertThat(LineageView.checked(json, event("START"))).isEqualTo(event("START"));
    assertThatThrownBy(() -> LineageView.checked(json, "not json".getBytes()))
        .isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> LineageView.checked(json, "[1]".getBytes()))
        .isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> LineageView.checked(json, "{\"run\":{}}".getBytes()))
        .isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> new LineageView(0)).isInstanceOf(IllegalArgumentException.class);
  }
}
