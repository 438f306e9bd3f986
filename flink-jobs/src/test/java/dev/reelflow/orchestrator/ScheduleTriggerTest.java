package dev.reelflow.orchestrator;

import static org.assertj.core.api.Assertions.assertThat;

import dev.reelflow.schemas.avro.DeadLetter;
import dev.reelflow.schemas.avro.RenderRequest;
import dev.reelflow.schemas.avro.Resolution;
import dev.reelflow.schemas.avro.Schedule;
import dev.reelflow.schemas.avro.UpscaleTarget;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.runtime.checkpoint.OperatorSubtaskState;
import org.apache.flink.streaming.api.operators.KeyedProcessOperator;
import org.apache.flink.streaming.runtime.streamrecord.StreamRecord;
import org.apache.flink.streaming.util.KeyedOneInputStreamOperatorTestHarness;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

class ScheduleTriggerTest {
  static final long START = Instant.parse("2026-11-25T09:59:00Z").toEpochMilli();
  static final long TEN = Instant.parse("2026-11-25T10:00:00Z").toEpochMilli();
  static final long HOUR = 3_600_000;

  private KeyedOneInputStreamOperatorTestHarness<String, Inbound, RenderRequest> h;

  @BeforeEach
  void open() throws Exception {
    h = harness();
    h.open();
  }

  @AfterEach
  void close() throws Exception {
    h.close();
  }

  static KeyedOneInputStreamOperatorTestHarness<String, Inbound, RenderRequest> harness()
      throws Exception {
    var h =
        new KeyedOneInputStreamOperatorTestHarness<>(
            new KeyedProcessOperator<>(new ScheduleTrigger()), Inbound::scheduleId, Types.STRING);
    h.setProcessingTime(START);
    return h;
  }

  static Schedule schedule(String cron, List<String> rows) {
    return Schedule.newBuilder()
        .setScheduleId("nightly")
        .setTenant("demo")
        .setName("hourly catalogue")
        .setCron(cron)
        .setTimezone("Europe/Berlin")
        .setTemplate(Fixtures.params(UpscaleTarget.P1080))
        .setRows(new ArrayList<>(rows))
        .setPriority(3)
        .setLabels(new HashMap<>())
        .setCreatedAt(Instant.ofEpochMilli(START))
        .setUpdatedAt(Instant.ofEpochMilli(START))
        .build();
  }

  private void in(Schedule s) throws Exception {
    h.processElement(new StreamRecord<>(Inbound.of(s)));
  }

  private List<String> ids() {
    return h.extractOutputValues().stream().map(RenderRequest::getRequestId).toList();
  }

  @Test
  void firesEachRowWithDeterministicIds() throws Exception {
    in(
        schedule(
            "0 * * * *",
            List.of(
                "{\"prompt\":\"a cat\",\"seed\":1}",
                "{\"resolution\":\"720p\",\"upscale\":\"none\",\"aspect_ratio\":\"9:16\"}")));
    assertThat(ids()).isEmpty();
    h.setProcessingTime(TEN);
    assertThat(ids()).containsExactly("nightly-20261125T100000Z-0", "nightly-20261125T100000Z-1");
    RenderRequest r0 = h.extractOutputValues().get(0);
    assertThat(r0.getParams().getPrompt()).isEqualTo("a cat");
    assertThat(r0.getParams().getSeed()).isEqualTo(1);
    assertThat(r0.getScheduleId()).isEqualTo("nightly");
    assertThat(r0.getScheduleFireTime()).isEqualTo(Instant.ofEpochMilli(TEN));
    assertThat(r0.getSubmittedAt()).isEqualTo(Instant.ofEpochMilli(TEN));
    assertThat(r0.getPriority()).isEqualTo(3);
    RenderRequest r1 = h.extractOutputValues().get(1);
    assertThat(r1.getParams().getResolution()).isEqualTo(Resolution.P720);
    assertThat(r1.getParams().getUpscale()).isEqualTo(UpscaleTarget.NONE);
    assertThat(r1.getParams().getPrompt()).isEqualTo("a red fox in the snow");
    h.setProcessingTime(TEN + HOUR);
    assertThat(ids()).hasSize(4).endsWith("nightly-20261125T110000Z-1");
  }

  @Test
  void pausedAndDeletedSchedulesStopFiring() throws Exception {
    Schedule s = schedule("0 * * * *", List.of());
    in(s);
    h.setProcessingTime(TEN);
    assertThat(ids()).containsExactly("nightly-20261125T100000Z-0");
    Schedule paused = Schedule.newBuilder(s).setEnabled(false).build();
    in(paused);
    h.setProcessingTime(TEN + 3 * HOUR);
    assertThat(ids()).hasSize(1);
    in(s); // resumed: continues from now, no catch-up of paused hours
    h.setProcessingTime(TEN + 4 * HOUR);
    assertThat(ids()).hasSize(2).endsWith("nightly-20261125T140000Z-0");
    h.processElement(new StreamRecord<>(Inbound.removedSchedule("nightly")));
    h.setProcessingTime(TEN + 6 * HOUR);
    assertThat(ids()).hasSize(2);
    in(s);
    in(Schedule.newBuilder(s).setDeleted(true).build());
    h.setProcessingTime(TEN + 8 * HOUR);
    assertThat(ids()).hasSize(2);
  }

  @Test
  void runNowFiresOncePerDistinctRequest() throws Exception {
    Schedule s = schedule("0 0 1 1 *", List.of());
    long at = START + 1_000;
    in(Schedule.newBuilder(s).setRunRequestedAt(Instant.ofEpochMilli(at)).build());
    in(Schedule.newBuilder(s).setRunRequestedAt(Instant.ofEpochMilli(at)).setName("x").build());
    assertThat(ids()).hasSize(1);
    in(Schedule.newBuilder(s).setRunRequestedAt(Instant.ofEpochMilli(at + 5)).build());
    assertThat(ids())
        .containsExactly("nightly-20261125T095901Z-0", "nightly-20261125T095901.005Z-0");
  }

  @Test
  void missedFiresWhileDownFireOnceOnRecovery() throws Exception {
    in(schedule("0 * * * *", List.of()));
    OperatorSubtaskState snap = h.snapshot(1, START);
    h.close();
    h = harness();
    h.setProcessingTime(TEN + 5 * HOUR + 60_000); // down for five fire times
    h.setup();
    h.initializeState(snap);
    h.open();
    // Restored timers in the past fire as soon as time moves (at once in a real job).
    h.setProcessingTime(TEN + 5 * HOUR + 60_001);
    assertThat(ids()).containsExactly("nightly-20261125T100000Z-0");
    h.setProcessingTime(TEN + 6 * HOUR);
    assertThat(ids()).containsExactly("nightly-20261125T100000Z-0", "nightly-20261125T160000Z-0");
  }

  @Test
  void unreadableCronAndRowsAreDeadLettered() throws Exception {
    in(schedule("every hour", List.of()));
    h.setProcessingTime(TEN + HOUR);
    assertThat(ids()).isEmpty();
    in(
        schedule(
            "0 * * * *",
            List.of(
                "{\"prompt\":\"ok\"}",
                "{\"colour\":\"red\"}",
                "not json",
                "{\"seed\":9007199254740991}")));
    h.setProcessingTime(TEN + 2 * HOUR);
    assertThat(ids()).containsExactly("nightly-20261125T120000Z-0");
    List<DeadLetter> dlq =
        h.getSideOutput(ScheduleTrigger.DLQ).stream().map(StreamRecord::getValue).toList();
    assertThat(dlq).hasSize(4);
    assertThat(dlq.get(0).getReason()).contains("cannot fire");
    assertThat(dlq.get(1).getReason()).contains("row 1", "colour");
    assertThat(dlq.get(3).getReason()).contains("row 3", "seed", "9007199254740990");
  }

  @Test
  void sourceSchedulesHandTheirFiresToTheReader() throws Exception {
    in(Schedule.newBuilder(schedule("0 * * * *", List.of())).setSource("demo/rows.ndjson").build());
    h.setProcessingTime(TEN);
    assertThat(ids()).isEmpty();
    assertThat(h.getSideOutput(ScheduleTrigger.DLQ)).isNull();
    List<SourceFire> fires =
        h.getSideOutput(ScheduleTrigger.SOURCE_FIRES).stream().map(StreamRecord::getValue).toList();
    assertThat(fires).hasSize(1);
    assertThat(fires.get(0).fireTime).isEqualTo(TEN);
    assertThat(fires.get(0).schedule.getSource()).isEqualTo("demo/rows.ndjson");
  }
}
