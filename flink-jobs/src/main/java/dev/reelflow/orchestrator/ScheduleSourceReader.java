package dev.reelflow.orchestrator;

import dev.reelflow.schemas.avro.DeadLetter;
import dev.reelflow.schemas.avro.RenderRequest;
import dev.reelflow.schemas.avro.Schedule;
import dev.reelflow.storage.ArtifactStore;
import dev.reelflow.storage.ObjectNotFoundException;
import dev.reelflow.storage.RetryPolicy;
import dev.reelflow.storage.StorageException;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import org.apache.flink.api.common.functions.OpenContext;
import org.apache.flink.metrics.Counter;
import org.apache.flink.streaming.api.functions.ProcessFunction;
import org.apache.flink.util.Collector;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Expands a fire of a schedule with a {@code source} into render requests: reads the NDJSON object
 * (one JSON object of render-body fields per line, blank lines skipped) from the render bucket and
 * applies each row to the template, as inline rows are. Request ids are {@code {scheduleId}-{fire
 * time}-{row}} with the row counted over non-blank lines, so a replayed fire renders nothing twice.
 * The object is read without checksum verification: row files are put there by users with any S3
 * tool, not through the artifact store.
 *
 * <p>A fire is all-or-nothing: an object that is missing, outside the schedule's tenant prefix,
 * larger than {@link OrchestratorSettings#SCHEDULE_SOURCE_MAX_ROWS} rows, or with any invalid row
 * fires nothing and leaves one dead letter that names the problem (rows by number).
 */
final class ScheduleSourceReader extends ProcessFunction<SourceFire, RenderRequest> {
  private static final long serialVersionUID = 1L;
  private static final Logger LOG = LoggerFactory.getLogger(ScheduleSourceReader.class);

  /** Invalid rows named in one dead letter; the count covers the rest. */
  private static final int ROW_ERRORS_SHOWN = 5;

  private final OrchestratorConfig.StorageSettings storage;
  private final int maxRows;
  private final Duration retryBudget;

  private transient ArtifactStore store;
  private transient Counter rowsRead;
  private transient Counter refused;

  ScheduleSourceReader(OrchestratorConfig config) {
    this(config.storage(), config.scheduleSourceMaxRows(), Duration.ofSeconds(30));
  }

  ScheduleSourceReader(
      OrchestratorConfig.StorageSettings storage, int maxRows, Duration retryBudget) {
    this.storage = storage;
    this.maxRows = maxRows;
    this.retryBudget = retryBudget;
  }

  @Override
  public void open(OpenContext openContext) {
    var g = getRuntimeContext().getMetricGroup().addGroup("schedules");
    rowsRead = g.counter("sourceRows");
    refused = g.counter("sourceFiresRefused");
    if (storage.configured()) {
      store =
          ArtifactStore.builder()
              .endpoint(storage.endpoint())
              .credentials(storage.accessKey(), storage.secretKey())
              .region(storage.region())
              .bucket(storage.bucket())
              .retryPolicy(RetryPolicy.builder().maxElapsed(retryBudget).build())
              .build();
    }
  }

  @Override
  public void close() throws Exception {
    if (store != null) {
      store.close();
    }
  }

  @Override
  public void processElement(SourceFire fire, Context ctx, Collector<RenderRequest> out) {
    Schedule s = fire.schedule;
    String key = s.getSource();
    String refusal = null;
    List<RenderRequest> requests = null;
    if (store == null) {
      refusal =
          "its rows are in object "
              + key
              + " but the orchestrator has no "
              + OrchestratorSettings.S3_ENDPOINT
              + " to read it from";
    } else if (!key.startsWith(s.getTenant() + "/")) {
      refusal = "object " + key + " is outside the tenant's prefix " + s.getTenant() + "/";
    } else {
      try {
        requests = read(s, fire.fireTime);
      } catch (ObjectNotFoundException e) {
        refusal = "object " + key + " does not exist in bucket " + storage.bucket();
      } catch (StorageException | UncheckedIOException e) {
        refusal =
            "object "
                + key
                + " could not be read ("
                + e.getMessage()
                + "); fire it again with POST /v1/schedules/"
                + s.getScheduleId()
                + "/run";
      } catch (RowsRefusedException e) {
        refusal = e.getMessage();
      }
    }
    if (refusal != null) {
      refused.inc();
      String reason =
          "schedule "
              + s.getScheduleId()
              + " fired at "
              + Instant.ofEpochMilli(fire.fireTime)
              + " rendered nothing: "
              + refusal;
      LOG.warn("{}", reason);
      DeadLetter dl =
          ScheduleTrigger.deadLetter(s.getScheduleId(), "ScheduleSourceRefused", reason);
      ctx.output(ScheduleTrigger.DLQ, dl);
      return;
    }
    for (RenderRequest r : requests) {
      out.collect(r);
    }
    rowsRead.inc(requests.size());
    LOG.info(
        "schedule {} fire {}: {} rows from {}",
        s.getScheduleId(),
        Instant.ofEpochMilli(fire.fireTime),
        requests.size(),
        key);
  }

  private List<RenderRequest> read(Schedule s, long fireTime) throws RowsRefusedException {
    List<RenderRequest> requests = new ArrayList<>();
    List<String> errors = new ArrayList<>();
    int invalid = 0;
    int row = 0;
    try (InputStream in = store.open(s.getSource(), false);
        BufferedReader lines =
            new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8))) {
      int lineNo = 0;
      for (String line = lines.readLine(); line != null; line = lines.readLine()) {
        lineNo++;
        if (line.isBlank()) {
          continue;
        }
        if (row >= maxRows) {
          throw new RowsRefusedException(
              "object "
                  + s.getSource()
                  + " has more than "
                  + maxRows
                  + " rows ("
                  + OrchestratorSettings.SCHEDULE_SOURCE_MAX_ROWS
                  + ")");
        }
        try {
          requests.add(
              ScheduleTrigger.request(
                  s, fireTime, row, ScheduleTrigger.apply(s.getTemplate(), line)));
        } catch (IOException | RuntimeException e) {
          invalid++;
          if (errors.size() < ROW_ERRORS_SHOWN) {
            errors.add("row " + row + " (line " + lineNo + "): " + e.getMessage());
          }
        }
        row++;
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    if (invalid > 0) {
      throw new RowsRefusedException(
          invalid
              + " of "
              + row
              + " rows of object "
              + s.getSource()
              + " are invalid: "
              + String.join("; ", errors)
              + (invalid > errors.size() ? "; …" : ""));
    }
    if (requests.isEmpty()) {
      throw new RowsRefusedException("object " + s.getSource() + " has no rows");
    }
    return requests;
  }

  /** The rows cannot be fired as a whole; the message says why. */
  private static final class RowsRefusedException extends Exception {
    private static final long serialVersionUID = 1L;

    RowsRefusedException(String message) {
      super(message);
    }
  }
}
