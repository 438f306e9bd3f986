package dev.reelflow.ingest;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.reelflow.schemas.ExampleRecords;
import dev.reelflow.schemas.avro.RenderRequest;
import dev.reelflow.schemas.avro.RenderState;
import dev.reelflow.schemas.avro.RenderStatus;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The provisional status of a render this instance accepted, and what replaces it. */
class StatusViewTest {

  private static RenderRequest request() {
    RenderRequest r = RenderRequest.newBuilder(ExampleRecords.renderRequest()).build();
    r.setRequestId("b-x-000007");
    r.setTenant("acme");
    r.setPriority(7);
    r.setDeadline(Instant.parse("2031-02-03T04:05:06.789Z"));
    r.setBatchId("b-x");
    r.setBatchRow(7);
    r.setLabels(Map.of("campaign", "spring"));
    r.setCallbackUrl("https://hooks.example.com/reelflow");
    r.setSubmittedAt(Instant.parse("2030-01-02T03:04:05.678Z"));
    r.getParams().setSeed(42L);
    return r;
  }

  @Test
  void aProvisionalStatusCarriesTheRequestFieldByField() {
    RenderRequest r = request();
    StatusView view = new StatusView();
    view.accepted(List.of(r));

    // what the record builder made before the constructor replaced it: every field must match,
    // so a field moved in the schema cannot silently land in another slot of the constructor
    RenderStatus expected =
        RenderStatus.newBuilder()
            .setRequestId(r.getRequestId())
            .setTenant(r.getTenant())
            .setState(RenderState.ACCEPTED)
            .setStage(null)
            .setAttempt(0)
            .setAttempts(0)
            .setStep(null)
            .setTotalSteps(null)
            .setEtaMillis(null)
            .setQueuePosition(null)
            .setQueuePositionEstimated(false)
            .setWorkerId(null)
            .setOutputs(new ArrayList<>())
            .setError(null)
            .setScheduleId(null)
            .setSeed(42L)
            .setLineageRunId(null)
            .setPriority(r.getPriority())
            .setDeadline(r.getDeadline())
            .setBatchId(r.getBatchId())
            .setLabels(r.getLabels())
            .setCallbackUrl(r.getCallbackUrl())
            .setPrompt(r.getParams().getPrompt())
            .setVersion(StatusView.PROVISIONAL)
            .setCreatedAt(r.getSubmittedAt())
            .setUpdatedAt(r.getSubmittedAt())
            .build();
    RenderStatus held = view.get("acme", r.getRequestId()).orElseThrow();
    for (org.apache.avro.Schema.Field f : RenderStatus.getClassSchema().getFields()) {
      assertThat(held.get(f.pos())).as(f.name()).isEqualTo(expected.get(f.pos()));
    }
    assertThat(held).isEqualTo(expected);
    assertThat(view.get("other-tenant", r.getRequestId())).isEmpty();
    assertThat(view.batch("acme", "b-x")).containsExactly(held);
    assertThat(view.batch("other-tenant", "b-x")).isEmpty();
    assertThat(view.inFlight("acme")).isEqualTo(1);
  }

  @Test
  void theTopicsStatusReplacesTheProvisionalOneAndAReplayKeepsIt() {
    RenderRequest r = request();
    StatusView view = new StatusView();
    view.accepted(List.of(r));
    RenderStatus queued =
        RenderStatus.newBuilder(view.get("acme", r.getRequestId()).orElseThrow())
            .setState(RenderState.QUEUED)
            .setVersion(1L << 20)
            .build();
    view.apply(queued);
    view.accepted(List.of(r)); // an idempotent replay of the same request
    assertThat(view.get("acme", r.getRequestId()).orElseThrow().getState())
        .isEqualTo(RenderState.QUEUED);
    assertThat(view.inFlight("acme")).isEqualTo(1);
  }

  private static RenderStatus status(String id, String tenant, String batchId, RenderState st) {
    RenderRequest r = request();
    r.setRequestId(id);
    r.setTenant(tenant);
    r.setBatchId(batchId);
    StatusView scratch = new StatusView();
    scratch.accepted(List.of(r));
    return RenderStatus.newBuilder(scratch.get(tenant, id).orElseThrow())
        .setState(st)
        .setVersion(1)
        .build();
  }

  @Test
  void aBatchsMembersAreItsRowsAndRendersOfItFromOtherProducersInIdOrder() {
    StatusView view = new StatusView();
    List<RenderRequest> rows = new ArrayList<>();
    for (int i = 0; i < 5; i++) {
      RenderRequest r = request();
      r.setRequestId(Ids.batchRow("b-x", i));
      r.setBatchRow(i);
      rows.add(r);
    }
    view.accepted(rows);
    // from the topic: a render of the batch whose id does not name it (another producer), one
    // whose id has the batch's form but belongs to no batch, and another tenant's render of it
    view.apply(status("ext-1", "acme", "b-x", RenderState.QUEUED));
    view.apply(status("b-x-999999", "acme", null, RenderState.QUEUED));
    view.apply(status("ext-2", "globex", "b-x", RenderState.QUEUED));
    assertThat(view.batch("acme", "b-x"))
        .extracting(RenderStatus::getRequestId)
        .containsExactly(
            "b-x-000000", "b-x-000001", "b-x-000002", "b-x-000003", "b-x-000004", "ext-1");
    assertThat(view.batch("globex", "b-x"))
        .extracting(RenderStatus::getRequestId)
        .containsExactly("ext-2");
    assertThat(view.inFlight("acme")).isEqualTo(7);

    view.remove("ext-1");
    view.remove("b-x-000002");
    view.apply(status("b-x-000003", "acme", "b-x", RenderState.SUCCEEDED));
    assertThat(view.batch("acme", "b-x"))
        .extracting(RenderStatus::getRequestId)
        .containsExactly("b-x-000000", "b-x-000001", "b-x-000003", "b-x-000004");
    assertThat(view.inFlight("acme")).isEqualTo(4);
    assertThat(view.batch("acme", "b-y")).isEmpty();
  }

  @Test
  void acceptedTakesOneTenantsRenders() {
    RenderRequest a = request();
    RenderRequest b = request();
    b.setRequestId("b-x-000008");
    b.setTenant("globex");
    StatusView view = new StatusView();
    assertThatThrownBy(() -> view.accepted(List.of(a, b)))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("one tenant");
  }

  @Test
  void aStagedBatchIsCountedButHiddenUntilShownAndGoneWhenDiscarded() {
    StatusView view = new StatusView();
    List<RenderStatus> heard = new ArrayList<>();
    view.addListener((prev, cur, live) -> heard.add(cur));
    List<RenderRequest> rows = new ArrayList<>();
    for (int i = 0; i < 3; i++) {
      RenderRequest r = request();
      r.setRequestId(Ids.batchRow("b-x", i));
      rows.add(r);
    }
    StatusView.Staged staged = view.stage("b-x", rows);
    assertThat(view.inFlight("acme")).isEqualTo(3);
    assertThat(view.get("acme", "b-x-000000")).isEmpty();
    assertThat(view.batch("acme", "b-x")).isEmpty();
    assertThat(view.list("acme", null, 10, st -> true)).isEmpty();
    assertThat(heard).isEmpty();
    assertThatThrownBy(() -> view.stage("b-x", rows)).isInstanceOf(IllegalStateException.class);

    staged.show();
    assertThat(view.get("acme", "b-x-000000")).isPresent();
    assertThat(view.list("acme", null, 10, st -> true)).hasSize(3);
    assertThat(heard).extracting(RenderStatus::getRequestId).hasSize(3);
    assertThatThrownBy(staged::discard).isInstanceOf(IllegalStateException.class);

    List<RenderRequest> others = new ArrayList<>();
    for (int i = 0; i < 2; i++) {
      RenderRequest r = request();
      r.setRequestId(Ids.batchRow("b-y", i));
      r.setBatchId("b-y");
      others.add(r);
    }
    view.stage("b-y", others).discard();
    assertThat(view.inFlight("acme")).isEqualTo(3);
    assertThat(view.size()).isEqualTo(3);
    assertThat(view.batch("acme", "b-y")).isEmpty();
    assertThat(heard).hasSize(3);
  }
}
