package dev.reelflow.ingest;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.TreeSet;
import org.junit.jupiter.api.RepeatedTest;
import org.junit.jupiter.api.Test;

/** The grouped index lists exactly what a sorted set of the same ids would, from any cursor. */
class RenderIdIndexTest {

  @Test
  void batchRowsShareTheirBatchsGroupAndEverythingElseIsItsOwn() {
    assertThat(RenderIdIndex.group("b-abc234-000017")).isEqualTo("b-abc234-");
    assertThat(RenderIdIndex.group("b-abc234-")).isEqualTo("b-abc234-");
    assertThat(RenderIdIndex.group("b-abc234-x+1")).isEqualTo("b-abc234-");
    assertThat(RenderIdIndex.group("b-abc234")).isNull();
    assertThat(RenderIdIndex.group("b--000001")).isNull();
    assertThat(RenderIdIndex.group("b-ABC-000001")).isNull();
    assertThat(RenderIdIndex.group("b-ab8-000001")).isNull();
    assertThat(RenderIdIndex.group("r-abc234")).isNull();
  }

  @Test
  void aRowOfABatchIsAnIdInItsGroup() {
    Random r = new Random(7);
    List<String> batches = List.of(Ids.random("b"), "b-abc", "b-abcd", "b-ABC", "x-abc", "b-");
    for (int i = 0; i < 5_000; i++) {
      String id = randomId(r, batches);
      for (String batch : batches) {
        assertThat(RenderIdIndex.isRowOf(id, batch))
            .as("%s of %s", id, batch)
            .isEqualTo((batch + "-").equals(RenderIdIndex.group(id)));
      }
    }
  }

  @Test
  void aGroupsIdsComeOutSortedWhateverOrderTheyWentIn() {
    RenderIdIndex index = new RenderIdIndex();
    index.addAll(List.of("b-abc-000003", "b-abc-000001", "r-1", "b-abc-000002", "b-abd-000001"));
    index.add("b-abc-000001"); // again: held once
    assertThat(index.idsOf("b-abc-"))
        .containsExactly("b-abc-000001", "b-abc-000002", "b-abc-000003");
    assertThat(index.idsOf("b-abd-")).containsExactly("b-abd-000001");
    assertThat(index.idsOf("r-1")).isEmpty(); // an id that is its own group is no group
    assertThat(index.idsOf("b-zzz-")).isEmpty();
  }

  /** Ingest's own ids, and foreign ones built to sit right beside a group's key. */
  private static String randomId(Random r, List<String> batches) {
    String batch = batches.get(r.nextInt(batches.size()));
    return switch (r.nextInt(9)) {
      case 0, 1, 2, 3 -> Ids.batchRow(batch, r.nextInt(300));
      case 4 -> Ids.random("r");
      case 5 -> batch; // a batch id used as a render id
      case 6 -> batch + "-" + (char) ('!' + r.nextInt(90)) + r.nextInt(10);
      case 7 -> batch + (char) ('!' + r.nextInt(90));
      default -> "b-" + (char) ('!' + r.nextInt(90)) + "-" + r.nextInt(10);
    };
  }

  private static List<String> listed(RenderIdIndex index, String cursor, int limit) {
    List<String> out = new ArrayList<>();
    index.forEachAfter(
        cursor,
        id -> {
          out.add(id);
          return out.size() < limit;
        });
    return out;
  }

  @RepeatedTest(20)
  void listsInStringOrderFromAnyCursorAfterAddsAndRemoves() {
    Random r = new Random();
    List<String> batches = new ArrayList<>();
    for (int i = 0; i < 4; i++) {
      batches.add(Ids.random("b"));
    }
    batches.add("b-abc");
    batches.add("b-abcd"); // one batch id a prefix of another
    RenderIdIndex index = new RenderIdIndex();
    TreeSet<String> expected = new TreeSet<>();
    for (int i = 0; i < 2000; i++) {
      String id = randomId(r, batches);
      if (r.nextInt(4) == 0 && !expected.isEmpty()) {
        String gone = r.nextBoolean() ? id : expected.ceiling(id);
        if (gone != null) {
          index.remove(gone);
          expected.remove(gone);
        }
      } else if (r.nextInt(3) == 0) {
        // a run of one batch's rows, as accepting a batch adds them, shuffled or in order
        String batch = batches.get(r.nextInt(batches.size()));
        List<String> run = new ArrayList<>();
        for (int k = r.nextInt(40); k > 0; k--) {
          run.add(Ids.batchRow(batch, r.nextInt(300)));
        }
        run.add(id);
        if (r.nextBoolean()) {
          java.util.Collections.shuffle(run, r);
        } else {
          java.util.Collections.sort(run);
        }
        index.addAll(run);
        expected.addAll(run);
      } else {
        index.add(id);
        expected.add(id);
      }
    }
    assertThat(listed(index, null, Integer.MAX_VALUE)).containsExactlyElementsOf(expected);
    for (int i = 0; i < 200; i++) {
      String cursor =
          r.nextBoolean() ? randomId(r, batches) : expected.higher(randomId(r, batches));
      if (cursor == null) {
        continue;
      }
      int limit = 1 + r.nextInt(50);
      List<String> want = new ArrayList<>();
      for (String id : expected.tailSet(cursor, false)) {
        if (want.size() == limit) {
          break;
        }
        want.add(id);
      }
      assertThat(listed(index, cursor, limit)).as("after %s", cursor).isEqualTo(want);
    }
    // every id removed: nothing listed, no group left behind
    for (String id : new ArrayList<>(expected)) {
      index.remove(id);
    }
    assertThat(listed(index, null, Integer.MAX_VALUE)).isEmpty();
    assertThat(index.isEmpty()).isTrue();
  }
}
