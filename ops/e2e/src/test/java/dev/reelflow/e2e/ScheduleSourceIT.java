package dev.reelflow.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import dev.reelflow.schemas.avro.RenderState;
import dev.reelflow.schemas.avro.RenderStatus;
import dev.reelflow.storage.ObjectAttributes;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * A schedule whose rows live in an NDJSON object of the tenant's bucket prefix: "run now" through
 * the API, the orchestrator reads the object at the fire and every row renders once, with the
 * deterministic ids {@code {scheduleId}-{fire time}-{row}}; a bad object fires nothing and leaves a
 * dead letter that names the row.
 */
@ExtendWith(SharedPipeline.class)
class ScheduleSourceIT {
  static final Duration WAIT = Duration.ofSeconds(120);

  static SharedPipeline p;
  static WorkerJvm worker;

  @BeforeAll
  static void startWorker(SharedPipeline pipeline) throws Exception {
    p = pipeline;
    worker = p.startWorker("sc-a", SharedPipeline.workerSettings(50, 30_000));
    p.awaitReady(WAIT, worker);
  }

  @AfterAll
  static void stopWorker() {
    if (worker != null) {
      worker.close();
    }
  }

  private static String schedule(String source) {
    String tpl =
        "{\"name\":\"catalogue\",\"cron\":\"0 3 1 1 *\",\"timezone\":\"Europe/Berlin\","
            + "\"template\":{\"prompt\":\"catalogue item\",\"resolution\":\"preview\","
            + "\"frames\":17,\"steps\":2,\"upscale\":\"none\"},\"source\":\""
            + source
            + "\"}";
    RenderApi.Answer created = p.api().call("POST", "/v1/schedules", tpl);
    assertThat(created.status()).as(created.body()).isEqualTo(201);
    String id = created.json().get("id").asText();
    RenderApi.Answer run = p.api().call("POST", "/v1/schedules/" + id + "/run", null);
    assertThat(run.status()).as(run.body()).isEqualTo(202);
    return id;
  }

  @Test
  void everyRowOfTheSourceObjectRendersOnce() {
    String tenant = p.pipeline().tenant();
    String key = tenant + "/schedules/catalogue.ndjson";
    p.store()
        .put(
            key,
            ("{\"prompt\":\"a green kettle on a stove\",\"seed\":3}\n"
                    + "{\"prompt\":\"雨中的红色雨伞\",\"aspect_ratio\":\"9:16\"}\n")
                .getBytes(StandardCharsets.UTF_8),
            ObjectAttributes.ofType("application/x-ndjson"));
    String scheduleId = schedule(key);

    EventLog log = p.events();
    List<RenderStatus> done =
        List.of(0, 1).stream()
            .map(
                row ->
                    log.awaitStatus(
                        WAIT,
                        "SUCCEEDED row " + row + " of " + scheduleId,
                        s ->
                            scheduleId.equals(s.getScheduleId())
                                && s.getRequestId().endsWith("-" + row)
                                && s.getState() == RenderState.SUCCEEDED))
            .toList();
    assertThat(done.get(0).getPrompt()).isEqualTo("a green kettle on a stove");
    assertThat(done.get(0).getSeed()).isEqualTo(3L);
    assertThat(done.get(1).getPrompt()).isEqualTo("雨中的红色雨伞");
    assertThat(done.get(0).getRequestId()).startsWith(scheduleId + "-").matches(".*Z-0");
    assertThat(log.statuses)
        .filteredOn(s -> scheduleId.equals(s.getScheduleId()))
        .extracting(RenderStatus::getRequestId)
        .containsOnly(done.get(0).getRequestId(), done.get(1).getRequestId());
  }

  @Test
  void anInvalidRowFiresNothingAndIsDeadLettered() {
    String tenant = p.pipeline().tenant();
    String key = tenant + "/schedules/broken.ndjson";
    p.store()
        .put(
            key,
            "{\"prompt\":\"fine\"}\n{\"resolution\":\"8k\"}\n".getBytes(StandardCharsets.UTF_8),
            ObjectAttributes.ofType("application/x-ndjson"));
    String scheduleId = schedule(key);
    EventLog.Dead dead =
        p.events()
            .awaitDead(
                WAIT, "dead letter of " + scheduleId, d -> scheduleId.equals(d.letter().getKey()));
    assertThat(dead.letter().getReason())
        .contains("rendered nothing")
        .contains("1 of 2 rows")
        .contains("row 1 (line 2)", "8k");
    assertThat(p.events().statuses).noneMatch(s -> scheduleId.equals(s.getScheduleId()));
  }
}
