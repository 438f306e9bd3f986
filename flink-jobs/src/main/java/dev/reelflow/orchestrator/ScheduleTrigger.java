package dev.reelflow.orchestrator;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.reelflow.schemas.WireNumbers;
import dev.reelflow.schemas.avro.AspectRatio;
import dev.reelflow.schemas.avro.DeadLetter;
import dev.reelflow.schemas.avro.Mode;
import dev.reelflow.schemas.avro.RenderParams;
import dev.reelflow.schemas.avro.RenderRequest;
import dev.reelflow.schemas.avro.Resolution;
import dev.reelflow.schemas.avro.Schedule;
import dev.reelflow.schemas.avro.UpscaleTarget;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.apache.flink.api.common.functions.OpenContext;
import org.apache.flink.api.common.state.ValueState;
import org.apache.flink.api.common.state.ValueStateDescriptor;
import org.apache.flink.metrics.Counter;
import org.apache.flink.streaming.api.functions.KeyedProcessFunction;
import org.apache.flink.util.Collector;
import org.apache.flink.util.OutputTag;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Fires schedules (keyed by schedule id): a processing-time timer at each cron fire time expands
 * the schedule into render requests with deterministic ids {@code
 * {scheduleId}-{yyyyMMdd'T'HHmmss'Z'}-{row}} (milliseconds added when the fire time has them), so a
 * replay or restart never renders twice (the lifecycle drops duplicate ids). Paused ({@code
 * enabled=false}) and deleted schedules (or tombstones) stop firing. Missed fires while the job was
 * down: the timer restored from the checkpoint fires once on recovery, then the schedule continues
 * from the next time after now. "Run now" ({@code runRequestedAt}) fires once per distinct value.
 */
final class ScheduleTrigger extends KeyedProcessFunction<String, Inbound, RenderRequest> {
  private static final long serialVersionUID = 1L;
  private static final Logger LOG = LoggerFactory.getLogger(ScheduleTrigger.class);
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final DateTimeFormatter STAMP =
      DateTimeFormatter.ofPattern("yyyyMMdd'T'HHmmss'Z'", Locale.ROOT).withZone(ZoneOffset.UTC);

  static final OutputTag<DeadLetter> DLQ = new OutputTag<>("schedule-dead-letters") {};

  /** Fires of schedules whose rows live in an object; {@link ScheduleSourceReader} reads them. */
  static final OutputTag<SourceFire> SOURCE_FIRES = new OutputTag<>("schedule-source-fires") {};

  private transient ValueState<ScheduleState> state;
  private transient Counter fires;

  @Override
  public void open(OpenContext openContext) {
    state =
        getRuntimeContext().getState(new ValueStateDescriptor<>("schedule", ScheduleState.class));
    fires = getRuntimeContext().getMetricGroup().addGroup("schedules").counter("fires");
  }

  @Override
  public void processElement(Inbound in, Context ctx, Collector<RenderRequest> out)
      throws Exception {
    long now = ctx.timerService().currentProcessingTime();
    ScheduleState st = state.value();
    Schedule s = in.schedule;
    if (s == null || s.getDeleted()) {
      if (st != null && st.nextFire != 0) {
        ctx.timerService().deleteProcessingTimeTimer(st.nextFire);
      }
      state.clear();
      return;
    }
    if (st == null) {
      st = new ScheduleState();
    }
    st.schedule = s;
    if (st.nextFire != 0) {
      ctx.timerService().deleteProcessingTimeTimer(st.nextFire);
      st.nextFire = 0;
    }
    if (s.getRunRequestedAt() != null) {
      long run = s.getRunRequestedAt().toEpochMilli();
      if (st.lastRunRequestedAt == null || st.lastRunRequestedAt != run) {
        st.lastRunRequestedAt = run;
        fire(s, run, ctx, out);
      }
    }
    if (s.getEnabled()) {
      Instant next = next(s, Math.max(now, st.lastFire), ctx);
      if (next != null) {
        st.nextFire = next.toEpochMilli();
        ctx.timerService().registerProcessingTimeTimer(st.nextFire);
      }
    }
    state.update(st);
  }

  @Override
  public void onTimer(long ts, OnTimerContext ctx, Collector<RenderRequest> out) throws Exception {
    ScheduleState st = state.value();
    if (st == null || st.nextFire != ts || !st.schedule.getEnabled()) {
      return;
    }
    long now = ctx.timerService().currentProcessingTime();
    fire(st.schedule, ts, ctx, out);
    st.lastFire = ts;
    // Fires missed while the job was down collapse into the one just made.
    Instant next = next(st.schedule, Math.max(now, ts), ctx);
    st.nextFire = next == null ? 0 : next.toEpochMilli();
    if (next != null) {
      ctx.timerService().registerProcessingTimeTimer(st.nextFire);
    }
    state.update(st);
  }

  private Instant next(Schedule s, long after, Context ctx) {
    try {
      return CronExpression.parse(s.getCron())
          .next(Instant.ofEpochMilli(after), ZoneId.of(s.getTimezone()));
    } catch (RuntimeException e) {
      ctx.output(
          DLQ,
          deadLetter(
              s.getScheduleId(),
              e.getClass().getName(),
              "schedule " + s.getScheduleId() + " cannot fire: " + e.getMessage()));
      return null;
    }
  }

  private void fire(Schedule s, long fireTime, Context ctx, Collector<RenderRequest> out) {
    fires.inc();
    if (s.getSource() != null) {
      // Reading the object is I/O: the reader downstream does it, off this keyed operator.
      ctx.output(SOURCE_FIRES, new SourceFire(s, fireTime));
      LOG.info(
          "schedule {} fired for {} (rows from object {})",
          s.getScheduleId(),
          Instant.ofEpochMilli(fireTime),
          s.getSource());
      return;
    }
    List<String> rows = s.getRows();
    int n = rows.isEmpty() ? 1 : rows.size();
    for (int row = 0; row < n; row++) {
      try {
        RenderParams params =
            rows.isEmpty()
                ? RenderParams.newBuilder(s.getTemplate()).build()
                : apply(s.getTemplate(), rows.get(row));
        out.collect(request(s, fireTime, row, params));
      } catch (RuntimeException | java.io.IOException e) {
        ctx.output(
            DLQ,
            deadLetter(
                s.getScheduleId(),
                e.getClass().getName(),
                "schedule " + s.getScheduleId() + " row " + row + ": " + e.getMessage()));
      }
    }
    LOG.info(
        "schedule {} fired for {} ({} rows)", s.getScheduleId(), Instant.ofEpochMilli(fireTime), n);
  }

  static String requestId(String scheduleId, long fireTime, int row) {
    // Cron fires fall on whole seconds; a "run now" may not, so its milliseconds are kept.
    String stamp = STAMP.format(Instant.ofEpochMilli(fireTime));
    long millis = Math.floorMod(fireTime, 1000L);
    if (millis != 0) {
      stamp = stamp.substring(0, stamp.length() - 1) + String.format(Locale.ROOT, ".%03dZ", millis);
    }
    return scheduleId + "-" + stamp + "-" + row;
  }

  static RenderRequest request(Schedule s, long fireTime, int row, RenderParams params) {
    Map<String, String> labels = new HashMap<>(s.getLabels());
    labels.put("schedule", s.getScheduleId());
    return RenderRequest.newBuilder()
        .setRequestId(requestId(s.getScheduleId(), fireTime, row))
        .setTenant(s.getTenant())
        .setParams(params)
        .setPriority(s.getPriority())
        .setDeadline(null)
        .setLabels(labels)
        .setCallbackUrl(s.getCallbackUrl())
        .setBatchId(null)
        .setBatchRow(row)
        .setScheduleId(s.getScheduleId())
        .setScheduleFireTime(Instant.ofEpochMilli(fireTime))
        .setIdempotencyKey(null)
        .setSubmittedAt(Instant.ofEpochMilli(fireTime))
        .build();
  }

  /** Applies one row (a JSON object of render-body fields) on top of the template. */
  static RenderParams apply(RenderParams template, String rowJson) throws java.io.IOException {
    JsonNode row = JSON.readTree(rowJson);
    if (row == null || !row.isObject()) {
      throw new IllegalArgumentException("row is not a JSON object: " + rowJson);
    }
    RenderParams.Builder b = RenderParams.newBuilder(template);
    for (Iterator<Map.Entry<String, JsonNode>> it = row.fields(); it.hasNext(); ) {
      Map.Entry<String, JsonNode> f = it.next();
      JsonNode v = f.getValue();
      switch (f.getKey()) {
        case "prompt" -> b.setPrompt(v.asText());
        case "negative_prompt", "negativePrompt" -> b.setNegativePrompt(v.asText());
        case "seed" -> b.setSeed(seed(v));
        case "frames" -> b.setFrames(v.asInt());
        case "fps" -> b.setFps(v.asInt());
        case "steps" -> b.setSteps(v.isNull() ? null : v.asInt());
        case "guidance_scale", "guidanceScale" ->
            b.setGuidanceScale(v.isNull() ? null : (float) v.asDouble());
        case "image_url", "imageUrl" -> b.setImageUrl(v.isNull() ? null : v.asText());
        case "mode" -> b.setMode(Mode.valueOf(v.asText().toUpperCase(Locale.ROOT)));
        case "resolution" -> b.setResolution(resolution(v.asText()));
        case "upscale" -> b.setUpscale(upscale(v.asText()));
        case "aspect_ratio", "aspectRatio" -> b.setAspectRatio(aspect(v.asText()));
        default -> throw new IllegalArgumentException("unknown row field '" + f.getKey() + "'");
      }
    }
    return b.build();
  }

  /** A row's seed, held to ingest's range 0..2^53 − 2 ({@link WireNumbers}). */
  private static long seed(JsonNode v) {
    if (!v.isIntegralNumber() || !v.canConvertToLong() || !WireNumbers.isValidSeed(v.asLong())) {
      throw new IllegalArgumentException("seed " + WireNumbers.seedRangeMessage(v.toString()));
    }
    return v.asLong();
  }

  private static Resolution resolution(String s) {
    return switch (s.toLowerCase(Locale.ROOT)) {
      case "preview" -> Resolution.PREVIEW;
      case "480p", "p480" -> Resolution.P480;
      case "720p", "p720" -> Resolution.P720;
      default ->
          throw new IllegalArgumentException(
              "resolution '" + s + "' is not one of preview, 480p, 720p");
    };
  }

  private static UpscaleTarget upscale(String s) {
    return switch (s.toLowerCase(Locale.ROOT)) {
      case "none" -> UpscaleTarget.NONE;
      case "1080p", "p1080" -> UpscaleTarget.P1080;
      default ->
          throw new IllegalArgumentException("upscale '" + s + "' is not one of none, 1080p");
    };
  }

  private static AspectRatio aspect(String s) {
    String norm = s.toUpperCase(Locale.ROOT).replace("AR_", "").replace(':', '_');
    try {
      return AspectRatio.valueOf("AR_" + norm);
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException(
          "aspect ratio '" + s + "' is not one of 16:9, 9:16, 1:1, 4:3, 3:4");
    }
  }

  static DeadLetter deadLetter(String scheduleId, String errorClass, String reason) {
    return DeadLetter.newBuilder()
        .setSourceTopic(TopicNames.SCHEDULES)
        .setPartition(-1)
        .setOffset(-1)
        .setKey(scheduleId)
        .setValue(null)
        .setErrorClass(errorClass)
        .setReason(reason)
        .setComponent("orchestrator")
        .setRequestId(null)
        .setAt(Instant.now())
        .build();
  }
}
