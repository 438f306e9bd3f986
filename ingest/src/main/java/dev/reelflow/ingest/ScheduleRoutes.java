package dev.reelflow.ingest;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.reelflow.schemas.avro.Schedule;
import io.javalin.http.Context;
import java.time.DateTimeException;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * Schedules CRUD and "run now", published to the compacted render.schedules topic (key:
 * scheduleId). DELETE publishes the schedule with {@code deleted=true}; the orchestrator runs them.
 */
final class ScheduleRoutes {
  static final int MAX_ROWS = 10_000;
  private static final Set<String> FIELDS =
      Set.of("name", "cron", "timezone", "template", "rows", "source", "enabled");
  private static final Pattern CRON_FIELD = Pattern.compile("[0-9A-Za-z*/,?#\\-]{1,64}");

  private final IngestServices s;
  private final RenderRoutes replies;

  ScheduleRoutes(IngestServices services, RenderRoutes replies) {
    this.s = services;
    this.replies = replies;
  }

  List<Route> routes() {
    return List.of(
        new Route("POST", "/v1/schedules", this::create, true),
        new Route("GET", "/v1/schedules", this::list, true),
        new Route("GET", "/v1/schedules/{id}", this::get, true),
        new Route("PUT", "/v1/schedules/{id}", this::replace, true),
        new Route("DELETE", "/v1/schedules/{id}", this::delete, true),
        new Route("POST", "/v1/schedules/{id}/run", this::run, true));
  }

  void create(Context ctx, Tenant tenant) {
    Schedule sc = parse(ctx, tenant, Ids.random("s"), null);
    publish(sc);
    ctx.header("Location", "/v1/schedules/" + sc.getScheduleId());
    replies.reply(ctx, 201, s.renderJson().schedule(sc));
  }

  void list(Context ctx, Tenant tenant) {
    s.catchup().schedules(Duration.ofSeconds(1));
    ObjectNode n = s.json().createObjectNode();
    ArrayNode items = n.putArray("items");
    for (Schedule sc : s.schedules().list(tenant.id())) {
      items.add(s.renderJson().schedule(sc));
    }
    replies.reply(ctx, 200, n);
  }

  void get(Context ctx, Tenant tenant) {
    replies.reply(ctx, 200, s.renderJson().schedule(find(tenant, ctx.pathParam("id"))));
  }

  void replace(Context ctx, Tenant tenant) {
    Schedule old = find(tenant, ctx.pathParam("id"));
    Schedule sc = parse(ctx, tenant, old.getScheduleId(), old.getCreatedAt());
    publish(sc);
    replies.reply(ctx, 200, s.renderJson().schedule(sc));
  }

  void delete(Context ctx, Tenant tenant) {
    Schedule old = find(tenant, ctx.pathParam("id"));
    Schedule gone =
        Schedule.newBuilder(old).setDeleted(true).setUpdatedAt(s.clock().instant()).build();
    publish(gone);
    ctx.status(204);
  }

  void run(Context ctx, Tenant tenant) {
    Schedule old = find(tenant, ctx.pathParam("id"));
    Instant now = s.clock().instant();
    Schedule fired = Schedule.newBuilder(old).setRunRequestedAt(now).setUpdatedAt(now).build();
    publish(fired);
    ObjectNode n = s.json().createObjectNode();
    n.put("id", old.getScheduleId());
    n.put("runRequestedAt", now.toString());
    replies.reply(ctx, 202, n);
  }

  private Schedule find(Tenant tenant, String id) {
    Optional<Schedule> sc = s.schedules().get(tenant.id(), id);
    if (sc.isEmpty() && s.catchup().schedules(Duration.ofSeconds(1))) {
      sc = s.schedules().get(tenant.id(), id);
    }
    return sc.orElseThrow(
        () -> ApiException.notFound("No schedule '" + RenderValidation.clip(id) + "'"));
  }

  private void publish(Schedule sc) {
    long t0 = System.nanoTime();
    try {
      s.publisher()
          .send(
              new EventPublisher.Outgoing(
                  s.topic(IngestConfig.TOPIC_SCHEDULES), sc.getScheduleId(), sc));
    } catch (EventPublisher.PublishException e) {
      throw RenderRoutes.unavailable(e);
    }
    s.metrics().published("schedule", System.nanoTime() - t0);
    s.schedules().apply(sc.getScheduleId(), sc);
  }

  private Schedule parse(Context ctx, Tenant tenant, String id, Instant createdAt) {
    RequestBodies.requireType(ctx, "application/json");
    byte[] body = RequestBodies.read(ctx, s.config().longValue(IngestConfig.BATCH_MAX_BYTES));
    JsonNode n = RequestBodies.json(s.json(), body);
    Instant now = s.clock().instant();
    return validate(n, tenant.id(), id, createdAt == null ? now : createdAt, now);
  }

  /** Validates a schedule body; every problem is reported with its field. */
  Schedule validate(JsonNode n, String tenant, String id, Instant createdAt, Instant now) {
    List<FieldError> errors = new ArrayList<>();
    if (!n.isObject()) {
      throw ApiException.invalid(List.of(new FieldError("", "must be a JSON object")));
    }
    n.fieldNames()
        .forEachRemaining(
            f -> {
              if (!FIELDS.contains(f)) {
                errors.add(new FieldError(RenderValidation.clip(f), "unknown field"));
              }
            });
    String name = RenderValidation.text(n, "name", errors, false);
    if (name != null && name.length() > 200) {
      errors.add(new FieldError("name", "must be at most 200 characters"));
    }
    String cron = RenderValidation.text(n, "cron", errors, true);
    if (cron != null) {
      String[] parts = cron.trim().split("\\s+");
      boolean fieldsOk = true;
      for (String p : parts) {
        fieldsOk &= CRON_FIELD.matcher(p).matches();
      }
      if (parts.length < 5 || parts.length > 7 || !fieldsOk) {
        errors.add(
            new FieldError(
                "cron",
                "must be a Unix (5 fields) or Quartz (6-7 fields) cron expression, e.g. '0 2 * * *'"));
      }
    }
    String tz = RenderValidation.text(n, "timezone", errors, false);
    if (tz != null) {
      try {
        ZoneId.of(tz);
      } catch (DateTimeException e) {
        errors.add(new FieldError("timezone", "must be an IANA time zone such as Europe/Berlin"));
      }
    }
    JsonNode template = n.get("template");
    RenderSubmission t = null;
    if (template == null || template.isNull()) {
      errors.add(new FieldError("template", "is required"));
    } else {
      RenderValidation.Result r =
          RenderValidation.validate(template, now, s.images(), s.prompts(), tenant, false);
      if (r.ok()) {
        t = r.submission();
      } else {
        r.errors().forEach(e -> errors.add(e.withPrefix("template")));
      }
    }
    List<String> rows = new ArrayList<>();
    JsonNode rowsNode = n.get("rows");
    if (rowsNode != null && !rowsNode.isNull()) {
      if (!rowsNode.isArray()) {
        errors.add(new FieldError("rows", "must be an array of objects"));
      } else if (rowsNode.size() > MAX_ROWS) {
        errors.add(new FieldError("rows", "must have at most " + MAX_ROWS + " rows"));
      } else {
        for (int i = 0; i < rowsNode.size(); i++) {
          JsonNode row = rowsNode.get(i);
          if (!(row instanceof ObjectNode o)) {
            errors.add(new FieldError("rows[" + i + "]", "must be an object"));
            continue;
          }
          if (template instanceof ObjectNode tpl) {
            RenderValidation.Result r =
                RenderValidation.validate(
                    RenderValidation.merge(tpl, o), now, s.images(), s.prompts(), tenant, false);
            for (FieldError e : r.errors()) {
              errors.add(e.withPrefix("rows[" + i + "]"));
            }
          }
          rows.add(o.toString());
        }
      }
    }
    String source = RenderValidation.text(n, "source", errors, false);
    if (source != null && (source.isBlank() || source.length() > 1024)) {
      errors.add(new FieldError("source", "must be an object key of 1..1024 characters"));
    }
    if (source != null && !source.isBlank() && !underTenant(tenant, source)) {
      // The orchestrator reads the object with its own credentials: keep tenants apart here.
      errors.add(
          new FieldError(
              "source",
              "must be an object key under this tenant's prefix "
                  + tenant
                  + "/ without '.' or '..' segments, '%' escapes or control characters"));
    }
    if (source != null && !rows.isEmpty()) {
      errors.add(new FieldError("source", "give either rows or source, not both"));
    }
    JsonNode enabled = n.get("enabled");
    if (enabled != null && !enabled.isNull() && !enabled.isBoolean()) {
      errors.add(new FieldError("enabled", "must be true or false"));
    }
    if (!errors.isEmpty()) {
      throw ApiException.invalid(errors);
    }
    return Schedule.newBuilder()
        .setScheduleId(id)
        .setTenant(tenant)
        .setName(name == null ? "" : name)
        .setCron(cron.trim())
        .setTimezone(tz == null ? "UTC" : tz)
        .setTemplate(t.params(t.seed() == null ? 0 : t.seed()))
        .setRows(rows)
        .setSource(source)
        .setPriority(t.priority())
        .setLabels(new java.util.TreeMap<>(t.labels()))
        .setCallbackUrl(t.callbackUrl())
        .setEnabled(enabled == null || enabled.isNull() || enabled.asBoolean())
        .setDeleted(false)
        .setRunRequestedAt(null)
        .setCreatedAt(createdAt)
        .setUpdatedAt(now)
        .build();
  }

  /** A key under the tenant's prefix with no traversal segment, escape or control character. */
  private static boolean underTenant(String tenant, String key) {
    try {
      dev.reelflow.storage.ArtifactKeys.requireTenant(tenant, key);
    } catch (dev.reelflow.storage.KeyOutsideTenantException e) {
      return false;
    }
    return key.indexOf('%') < 0 && key.chars().noneMatch(Character::isISOControl);
  }
}
