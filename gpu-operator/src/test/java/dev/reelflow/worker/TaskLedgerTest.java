package dev.reelflow.worker;

import static org.assertj.core.api.Assertions.assertThat;

import dev.reelflow.schemas.avro.RenderTask;
import dev.reelflow.schemas.avro.Resolution;
import org.junit.jupiter.api.Test;

class TaskLedgerTest {
  private static RenderTask task(String requestId, int attempt) {
    return EngineUnitsTest.task(requestId, attempt, Resolution.PREVIEW, 5);
  }

  /** The same attempt released again after its lease, while a slot of this JVM runs it. */
  @Test
  void aSecondDeliveryOfARunningAttemptIsADuplicate() {
    TaskLedger ledger = new TaskLedger(100);
    assertThat(ledger.admit(task("a", 1))).isEqualTo(TaskLedger.Verdict.RUN);
    assertThat(ledger.admit(task("a", 1))).isEqualTo(TaskLedger.Verdict.DUPLICATE);
    ledger.ended("a:BASE:1");
    ledger.handedBack("a:BASE:1"); // drained: a redelivery may run it again
    assertThat(ledger.admit(task("a", 1))).isEqualTo(TaskLedger.Verdict.RUN);
  }

  @Test
  void aFinishedAttemptStaysADuplicateAndAnOlderOneIsFenced() {
    TaskLedger ledger = new TaskLedger(100);
    assertThat(ledger.admit(task("a", 2))).isEqualTo(TaskLedger.Verdict.RUN);
    ledger.finished("a:BASE:2");
    ledger.ended("a:BASE:2");
    assertThat(ledger.admit(task("a", 2))).isEqualTo(TaskLedger.Verdict.DUPLICATE);
    assertThat(ledger.admit(task("a", 1))).isEqualTo(TaskLedger.Verdict.FENCED);
  }

  /** A run that ended without finishing (its events undeliverable) does not block a redelivery. */
  @Test
  void anEndedRunThatDidNotFinishMayRunAgain() {
    TaskLedger ledger = new TaskLedger(100);
    assertThat(ledger.admit(task("a", 1))).isEqualTo(TaskLedger.Verdict.RUN);
    ledger.ended("a:BASE:1");
    assertThat(ledger.admit(task("a", 1))).isEqualTo(TaskLedger.Verdict.RUN);
  }
}
