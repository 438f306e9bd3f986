package dev.reelflow.ingest;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.reelflow.schemas.Vocabulary;
import dev.reelflow.schemas.avro.CommandType;
import dev.reelflow.schemas.avro.RenderCommand;
import dev.reelflow.schemas.avro.RenderRequest;
import dev.reelflow.schemas.avro.RenderState;
import dev.reelflow.schemas.avro.RenderStatus;
import io.javalin.http.Context;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.EnumMap;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** Renders, batches, their status, cancel, reprioritize and the SSE streams. */
final class RenderRoutes {
  private static final Logger LOG = LoggerFactory.getLogger(RenderRoutes.class);
  static final String IDEMPOTENCY_KEY = "Idempotency-Key";
  private static final Duration CATCHUP = Duration.ofSeconds(3);
  private static final Duration SSE_KEEPALIVE = Duration.ofSeconds(15);

  private final IngestServices s;

  RenderRoutes(IngestServices services) {
    this.s = services;
  }

  List<Route> routes() {
    return List.of(
        new Route("POST", "/v1/renders", this::submit, true),
        new Route("GET", "/v1/renders", this::list, true),
        new Route("GET", "/v1/renders/{id}", this::get, true),
        new Route("DELETE", "/v1/renders/{id}", this::cancel, true),
        new Route("PATCH", "/v1/renders/{id}", this::change, true),
        new Route("GET", "/v1/renders/{id}/events", this::renderEvents, true),
        new Route("POST", "/v1/batches", this::batch, true),
        new Route("GET", "/v1/batches/{id}", this::batchCounts, true),
        new Route("GET", "/v1/events", this::batchEvents, true));
  }

  /** Writes a JSON answer with the ingest's own mapper. */
  void reply(Context ctx, int status, JsonNode body) {
    try {
      byte[] bytes = s.json().writeValueAsBytes(body);
      ctx.status(status).contentType("application/json");
      // Written straight to the response: ctx.result(bytes) copies through a fresh 8 KiB buffer
      // per request, which was the largest allocation on the single-POST path.
      ctx.res().setContentLength(bytes.length);
      ctx.res().getOutputStream().write(bytes);
    } catch (IOException e) {
      throw new IllegalStateException(e);
    }
  }

  // ---------------------------------------------------------------- submit

  void submit(Context ctx, Tenant tenant) throws Exception {
    RequestBodies.requireType(ctx, "application/json");
    // a single render may carry one inline reference image besides its usual fields
    long max = s.config().longValue(IngestConfig.BODY_MAX_BYTES);
    byte[] body = RequestBodies.read(ctx, max + s.images().bodyAllowance());
    JsonNode node = RequestBodies.json(s.json(), body);
    if (body.length > max) {
      JsonNode image = node.path("imageUrl");
      long rest = body.length - (image.isTextual() ? image.asText().length() : 0);
      if (rest > max) {
        throw ApiException.tooLarge(
            "The body has "
                + body.length
                + " bytes; the limit is "
                + max
                + " besides one imageUrl of up to "
                + s.images().limits().maxBytesText());
      }
    }
    Instant now = s.clock().instant();
    RenderValidation.Result v =
        RenderValidation.validate(node, now, s.images(), s.prompts(), tenant.id(), true);
    if (!v.ok()) {
      throw ApiException.invalid(v.errors());
    }
    RenderSubmission sub = v.submission();
    String key = idempotencyKey(ctx);
    if (key == null) {
      publishOnce(ctx, tenant, sub, null, null, now);
      return;
    }
    String fingerprint = sub.fingerprint(); // only a keyed request is compared with its replays
    // Concurrent first uses of one key on this instance take turns: the later ones find the
    // first's ledger entry and answer 200 instead of publishing the same render again.
    java.util.concurrent.locks.Lock lock = s.ledger().lock(tenant.id(), key);
    lock.lock();
    try {
      publishOnce(ctx, tenant, sub, fingerprint, key, now);
    } finally {
      lock.unlock();
    }
  }

  private void publishOnce(
      Context ctx,
      Tenant tenant,
      RenderSubmission sub,
      String fingerprint,
      String key,
      Instant now) {
    String id;
    long seed;
    if (key != null) {
      Optional<IdempotencyLedger.Entry> used = usedKey(tenant, key);
      if (used.isPresent()) {
        IdempotencyLedger.Entry e = used.get();
        if (!e.kind().equals("render") || !e.fingerprint().equals(fingerprint)) {
          throw ApiException.conflict(
              "Idempotency-Key '"
                  + RenderValidation.clip(key)
                  + "' was already used with a different body (render "
                  + e.id()
                  + "); use a new key for a new render");
        }
        reply(ctx, 200, accepted(tenant, e.id(), null));
        return;
      }
      id = Ids.derived("r", tenant.id(), key);
      seed = sub.seed() != null ? sub.seed() : Ids.derivedSeed(id);
    } else {
      id = Ids.random("r");
      seed = sub.seed() != null ? sub.seed() : Ids.randomSeed();
    }
    TenantLimits.checkQuota(tenant, s.statuses().inFlight(tenant.id()), 1);
    sub = s.images().resolve(sub, tenant.id(), id, now, "imageUrl");
    RenderRequest request = sub.toRequest(id, tenant.id(), seed, null, null, key, now);
    EventPublisher.Outgoing out =
        new EventPublisher.Outgoing(s.topic(IngestConfig.TOPIC_REQUESTS), id, request);
    long t0 = System.nanoTime();
    if (key == null) {
      // Answered from the acknowledgement: the request thread goes back to Jetty instead of
      // parking until the broker answers (64 parked threads dominated the single-POST profile).
      ctx.future(
          () ->
              s.publisher()
                  .sendAsync(out)
                  .handle(
                      (ok, failure) -> {
                        if (failure != null) {
                          throw unavailable(EventPublisher.cause(failure));
                        }
                        acceptedOne(ctx, tenant, request, seed, t0);
                        return null;
                      }));
      return;
    }
    IdempotencyLedger.Entry entry =
        new IdempotencyLedger.Entry(tenant.id(), id, fingerprint, "render", 1, now.toEpochMilli());
    String recordKey = IdempotencyLedger.recordKey(tenant.id(), key);
    try {
      s.publisher()
          .sendAll(
              List.of(
                  out,
                  new EventPublisher.Outgoing(
                      s.topic(IngestConfig.TOPIC_IDEMPOTENCY),
                      recordKey,
                      s.ledger().encode(entry))));
    } catch (EventPublisher.PublishException e) {
      throw unavailable(e);
    }
    s.ledger().remember(recordKey, entry);
    acceptedOne(ctx, tenant, request, seed, t0);
  }

  /** A single render the broker acknowledged: counted, shown as ACCEPTED, answered 202. */
  private void acceptedOne(
      Context ctx, Tenant tenant, RenderRequest request, long seed, long publishStart) {
    s.metrics().published("single", System.nanoTime() - publishStart);
    s.metrics().single();
    s.statuses().accepted(List.of(request));
    String id = request.getRequestId();
    ctx.header("Location", "/v1/renders/" + id);
    reply(ctx, 202, accepted(tenant, id, seed));
  }

  private ObjectNode accepted(Tenant tenant, String id, Long seed) {
    ObjectNode n = s.json().createObjectNode();
    n.put("id", id);
    Optional<RenderStatus> st = s.statuses().get(tenant.id(), id);
    n.put("status", st.map(x -> Vocabulary.state(x.getState())).orElse("ACCEPTED"));
    Long shownSeed = seed != null ? seed : st.map(RenderStatus::getSeed).orElse(null);
    if (shownSeed != null) {
      n.put("seed", shownSeed);
    }
    n.put("statusUrl", "/v1/renders/" + id);
    n.put("eventsUrl", "/v1/renders/" + id + "/events");
    return n;
  }

  private Optional<IdempotencyLedger.Entry> usedKey(Tenant tenant, String key) {
    Optional<IdempotencyLedger.Entry> local = s.ledger().find(tenant.id(), key);
    if (local.isPresent()) {
      return local;
    }
    if (!s.catchup().ledger(CATCHUP)) {
      throw ApiException.unavailable(
          "Cannot check the Idempotency-Key: the idempotency topic is not reachable", 5);
    }
    return s.ledger().find(tenant.id(), key);
  }

  private static String idempotencyKey(Context ctx) {
    String key = ctx.header(IDEMPOTENCY_KEY);
    if (key == null) {
      return null;
    }
    if (key.isEmpty() || key.length() > 255 || !key.chars().allMatch(c -> c >= 0x21 && c < 0x7f)) {
      throw ApiException.invalid(
          List.of(
              new FieldError("header.Idempotency-Key", "must be 1..255 visible ASCII characters")));
    }
    return key;
  }

  static ApiException unavailable(EventPublisher.PublishException e) {
    LOG.warn("Publishing failed: {}", e.getMessage());
    return ApiException.unavailable(
        "Kafka did not acknowledge the request in time; nothing was accepted. Retry later.", 5);
  }

  // ---------------------------------------------------------------- batch

  void batch(Context ctx, Tenant tenant) throws Exception {
    String type = RequestBodies.requireType(ctx, "application/x-ndjson", "text/csv");
    int maxRows = s.config().intValue(IngestConfig.BATCH_MAX_ROWS);
    byte[] body = RequestBodies.read(ctx, s.config().longValue(IngestConfig.BATCH_MAX_BYTES));
    List<FieldError> errors = new ArrayList<>();
    ObjectNode defaults = BatchParser.defaults(ctx.queryParamMap(), errors);
    if (!errors.isEmpty()) {
      throw ApiException.invalid(errors);
    }
    BatchParser.Rows rows =
        type.equals("text/csv")
            ? BatchParser.csv(body, maxRows)
            : BatchParser.ndjson(body, s.json(), maxRows);
    errors.addAll(rows.errors());
    if (rows.rows().isEmpty() && errors.isEmpty()) {
      throw ApiException.invalid(List.of(new FieldError("rows", "the batch has no rows")));
    }
    String key = idempotencyKey(ctx);
    // As for single renders: requests with one key take turns on this instance.
    java.util.concurrent.locks.Lock lock = key == null ? null : s.ledger().lock(tenant.id(), key);
    if (lock != null) {
      lock.lock();
    }
    try {
      acceptBatch(ctx, tenant, type, body, key, defaults, rows, errors);
    } finally {
      if (lock != null) {
        lock.unlock();
      }
    }
  }

  private void acceptBatch(
      Context ctx,
      Tenant tenant,
      String type,
      byte[] body,
      String key,
      ObjectNode defaults,
      BatchParser.Rows rows,
      List<FieldError> errors)
      throws EventPublisher.PublishException {
    Instant now = s.clock().instant();
    String fingerprint = null;
    Optional<IdempotencyLedger.Entry> used = Optional.empty();
    ApiException keyUnchecked = null;
    if (key != null) {
      fingerprint =
          Ids.sha256Hex((type + "\n" + ctx.queryString() + "\n").getBytes(StandardCharsets.UTF_8))
              + Ids.sha256Hex(body);
      try {
        used = usedKey(tenant, key);
      } catch (ApiException e) {
        keyUnchecked = e; // answered after validation, as every other refusal
      }
    }
    String batchId = key != null ? Ids.derived("b", tenant.id(), key) : Ids.random("b");
    int rowCount = rows.rows().size();
    // The common case, a new batch within the quota, streams its rows into the transaction as they
    // validate. Anything else validates first, so a client sees the same answer either way.
    boolean streaming =
        errors.isEmpty()
            && used.isEmpty()
            && keyUnchecked == null
            && TenantLimits.allows(tenant, s.statuses().inFlight(tenant.id()), rowCount);
    long t0 = System.nanoTime();
    try (BatchPublication publication =
        new BatchPublication(s, tenant.id(), batchId, now, streaming)) {
      int badRows = 0;
      Set<Integer> unparsable = new java.util.HashSet<>();
      for (FieldError e : rows.errors()) {
        if (e.field().startsWith("rows[")) {
          unparsable.add(Integer.parseInt(e.field().substring(5, e.field().indexOf(']'))));
        }
      }
      for (int i = 0; i < rowCount; i++) {
        if (unparsable.contains(i)) {
          badRows++;
          continue;
        }
        RenderValidation.Result v =
            RenderValidation.validate(
                RenderValidation.merge(defaults, rows.rows().get(i)),
                now,
                s.images(),
                s.prompts(),
                tenant.id(),
                true);
        if (v.ok()) {
          publication.add(v.submission());
        } else {
          badRows++;
          publication.reject();
          for (FieldError fe : v.errors()) {
            BatchParser.addError(errors, fe.withPrefix("rows[" + i + "]").field(), fe.message());
          }
        }
      }
      if (!errors.isEmpty()) {
        ApiException base = ApiException.invalid(errors);
        throw new ApiException(
            422,
            "Validation failed",
            (badRows > 0 ? badRows + " of " + rowCount + " rows are invalid" : base.getMessage())
                + "; nothing was published",
            errors,
            Map.of());
      }
      if (keyUnchecked != null) {
        throw keyUnchecked;
      }
      if (used.isPresent()) {
        IdempotencyLedger.Entry e = used.get();
        if (!e.kind().equals("batch") || !e.fingerprint().equals(fingerprint)) {
          throw ApiException.conflict(
              "Idempotency-Key '"
                  + RenderValidation.clip(key)
                  + "' was already used with a different body ("
                  + e.id()
                  + ")");
        }
        reply(ctx, 200, batchAccepted(e.id(), e.count()));
        return;
      }
      if (!streaming) {
        TenantLimits.checkQuota(tenant, s.statuses().inFlight(tenant.id()), rowCount);
      }
      IdempotencyLedger.Entry entry = null;
      String recordKey = null;
      EventPublisher.Outgoing ledgerRecord = null;
      if (key != null) {
        entry =
            new IdempotencyLedger.Entry(
                tenant.id(), batchId, fingerprint, "batch", rowCount, now.toEpochMilli());
        recordKey = IdempotencyLedger.recordKey(tenant.id(), key);
        ledgerRecord =
            new EventPublisher.Outgoing(
                s.topic(IngestConfig.TOPIC_IDEMPOTENCY), recordKey, s.ledger().encode(entry));
      }
      List<RenderRequest> requests;
      try {
        requests = publication.sendRest(ledgerRecord);
      } catch (EventPublisher.PublishException e) {
        throw unavailable(e);
      }
      // Recorded while Kafka acknowledges the last rows, shown once the transaction committed.
      StatusView.Staged staged = s.statuses().stage(batchId, requests);
      boolean committed = false;
      try {
        publication.commit();
        committed = true;
      } catch (EventPublisher.PublishException e) {
        throw unavailable(e);
      } finally {
        if (committed) {
          s.statuses().batchSize(batchId, requests.size());
          staged.show();
        } else {
          staged.discard();
        }
      }
      s.metrics().published("batch", System.nanoTime() - t0);
      s.metrics().batch(requests.size());
      if (entry != null) {
        s.ledger().remember(recordKey, entry);
      }
      ctx.header("Location", "/v1/batches/" + batchId);
      reply(ctx, 202, batchAccepted(batchId, requests.size()));
    }
  }

  private ObjectNode batchAccepted(String batchId, int count) {
    ObjectNode n = s.json().createObjectNode();
    n.put("batchId", batchId);
    n.put("count", count);
    n.put("statusUrl", "/v1/batches/" + batchId);
    n.put("rendersUrl", "/v1/renders?batchId=" + batchId);
    n.put("eventsUrl", "/v1/events?batchId=" + batchId);
    return n;
  }

  // ---------------------------------------------------------------- read

  /** The tenant's render, after a short catch-up on a miss; 404 for absent or another tenant's. */
  RenderStatus find(Tenant tenant, String id) {
    Optional<RenderStatus> st = s.statuses().get(tenant.id(), id);
    if (st.isEmpty() && s.catchup().statuses(Duration.ofSeconds(1))) {
      st = s.statuses().get(tenant.id(), id);
    }
    return st.orElseThrow(
        () -> ApiException.notFound("No render '" + RenderValidation.clip(id) + "'"));
  }

  void get(Context ctx, Tenant tenant) {
    RenderStatus st = find(tenant, ctx.pathParam("id"));
    reply(ctx, 200, s.renderJson().status(st));
  }

  void list(Context ctx, Tenant tenant) {
    List<FieldError> errors = new ArrayList<>();
    Set<String> known = Set.of("batchId", "status", "label", "cursor", "limit");
    for (String k : ctx.queryParamMap().keySet()) {
      if (!known.contains(k)) {
        errors.add(new FieldError("query." + RenderValidation.clip(k), "unknown parameter"));
      }
    }
    String batchId = ctx.queryParam("batchId");
    RenderState state = null;
    String status = ctx.queryParam("status");
    if (status != null) {
      try {
        state = Vocabulary.state(status);
      } catch (IllegalArgumentException e) {
        errors.add(new FieldError("query.status", e.getMessage()));
      }
    }
    Map<String, String> labels = new HashMap<>();
    for (String l : ctx.queryParams("label")) {
      int c = l.indexOf(':');
      if (c <= 0) {
        errors.add(new FieldError("query.label", "must read key:value"));
      } else {
        labels.put(l.substring(0, c), l.substring(c + 1));
      }
    }
    int limit = 100;
    String lim = ctx.queryParam("limit");
    if (lim != null) {
      try {
        limit = Integer.parseInt(lim);
        if (limit < 1 || limit > 1000) {
          errors.add(new FieldError("query.limit", "must be in 1..1000"));
        }
      } catch (NumberFormatException e) {
        errors.add(new FieldError("query.limit", "must be an integer in 1..1000"));
      }
    }
    String cursor = null;
    String c = ctx.queryParam("cursor");
    if (c != null) {
      try {
        cursor = new String(Base64.getUrlDecoder().decode(c), StandardCharsets.UTF_8);
      } catch (IllegalArgumentException e) {
        errors.add(new FieldError("query.cursor", "is not a cursor this API returned"));
      }
    }
    if (!errors.isEmpty()) {
      throw ApiException.invalid(errors);
    }
    RenderState wanted = state;
    Predicate<RenderStatus> filter =
        st ->
            (batchId == null || batchId.equals(st.getBatchId()))
                && (wanted == null || st.getState() == wanted)
                && labels.entrySet().stream()
                    .allMatch(e -> e.getValue().equals(st.getLabels().get(e.getKey())));
    List<RenderStatus> page = s.statuses().list(tenant.id(), cursor, limit + 1, filter);
    ObjectNode n = s.json().createObjectNode();
    ArrayNode items = n.putArray("items");
    for (int i = 0; i < Math.min(limit, page.size()); i++) {
      RenderStatus st = page.get(i);
      items.add(s.renderJson().status(st));
    }
    if (page.size() > limit) {
      String last = page.get(limit - 1).getRequestId();
      n.put(
          "nextCursor",
          Base64.getUrlEncoder()
              .withoutPadding()
              .encodeToString(last.getBytes(StandardCharsets.UTF_8)));
    } else {
      n.putNull("nextCursor");
    }
    reply(ctx, 200, n);
  }

  void batchCounts(Context ctx, Tenant tenant) {
    String batchId = ctx.pathParam("id");
    Map<RenderState, Integer> counts = new EnumMap<>(RenderState.class);
    for (RenderState st : RenderState.values()) {
      counts.put(st, 0);
    }
    List<RenderStatus> members = s.statuses().batch(tenant.id(), batchId);
    for (RenderStatus st : members) {
      counts.merge(st.getState(), 1, Integer::sum);
    }
    int seen = members.size();
    if (seen == 0) {
      throw ApiException.notFound("No batch '" + RenderValidation.clip(batchId) + "'");
    }
    ObjectNode n = s.json().createObjectNode();
    n.put("batchId", batchId);
    n.put("count", Math.max(seen, s.statuses().acceptedRows(batchId)));
    ObjectNode c = n.putObject("counts");
    int done = 0;
    for (Map.Entry<RenderState, Integer> e : counts.entrySet()) {
      c.put(Vocabulary.state(e.getKey()), e.getValue());
      if (Vocabulary.isTerminal(e.getKey())) {
        done += e.getValue();
      }
    }
    n.put("finished", done);
    n.put("rendersUrl", "/v1/renders?batchId=" + batchId);
    reply(ctx, 200, n);
  }

  // ---------------------------------------------------------------- commands

  void cancel(Context ctx, Tenant tenant) throws Exception {
    RenderStatus st = find(tenant, ctx.pathParam("id"));
    if (st.getState() == RenderState.CANCELLED) {
      reply(ctx, 202, s.renderJson().status(st));
      return;
    }
    if (Vocabulary.isTerminal(st.getState())) {
      throw ApiException.conflict(
          "Render "
              + st.getRequestId()
              + " already ended "
              + st.getState()
              + "; nothing to cancel");
    }
    publishCommand(
        RenderCommand.newBuilder()
            .setCommandId(st.getRequestId() + ":cancel")
            .setRequestId(st.getRequestId())
            .setTenant(tenant.id())
            .setType(CommandType.CANCEL)
            .setReason("cancelled through the API")
            .setIssuedAt(s.clock().instant())
            .build());
    reply(ctx, 202, s.renderJson().status(st));
  }

  void change(Context ctx, Tenant tenant) throws Exception {
    RequestBodies.requireType(ctx, "application/json", "application/merge-patch+json");
    byte[] body = RequestBodies.read(ctx, s.config().longValue(IngestConfig.BODY_MAX_BYTES));
    JsonNode node = RequestBodies.json(s.json(), body);
    RenderValidation.Change change = RenderValidation.validateChange(node, s.clock().instant());
    RenderStatus st = find(tenant, ctx.pathParam("id"));
    if (st.getState() != RenderState.ACCEPTED && st.getState() != RenderState.QUEUED) {
      throw ApiException.conflict(
          "Render "
              + st.getRequestId()
              + " is "
              + st.getState()
              + "; only ACCEPTED or QUEUED renders can be reprioritized");
    }
    publishCommand(
        RenderCommand.newBuilder()
            .setCommandId(Ids.random("c"))
            .setRequestId(st.getRequestId())
            .setTenant(tenant.id())
            .setType(CommandType.REPRIORITIZE)
            .setPriority(change.priority())
            .setDeadline(change.deadline() == null ? null : Instant.ofEpochMilli(change.deadline()))
            .setReason("changed through the API")
            .setIssuedAt(s.clock().instant())
            .build());
    ObjectNode n = s.renderJson().status(st);
    ObjectNode requested = n.putObject("requested");
    if (change.priority() != null) {
      requested.put("priority", change.priority());
    }
    if (change.deadline() != null) {
      requested.put("deadline", Instant.ofEpochMilli(change.deadline()).toString());
    }
    reply(ctx, 202, n);
  }

  private void publishCommand(RenderCommand c) {
    long t0 = System.nanoTime();
    try {
      s.publisher()
          .send(
              new EventPublisher.Outgoing(
                  s.topic(IngestConfig.TOPIC_COMMANDS), c.getRequestId(), c));
    } catch (EventPublisher.PublishException e) {
      throw unavailable(e);
    }
    s.metrics().published("command", System.nanoTime() - t0);
  }

  // ---------------------------------------------------------------- SSE

  void renderEvents(Context ctx, Tenant tenant) throws Exception {
    RenderStatus first = find(tenant, ctx.pathParam("id"));
    String id = first.getRequestId();
    stream(
        ctx,
        st -> st.getRequestId().equals(id),
        () -> List.of(s.statuses().get(tenant.id(), id).orElse(first)),
        sent -> sent.values().stream().anyMatch(Vocabulary::isTerminal));
  }

  void batchEvents(Context ctx, Tenant tenant) throws Exception {
    String batchId = ctx.queryParam("batchId");
    if (batchId == null || batchId.isBlank()) {
      throw ApiException.invalid(List.of(new FieldError("query.batchId", "is required")));
    }
    List<RenderStatus> members = s.statuses().batch(tenant.id(), batchId);
    if (members.isEmpty()) {
      throw ApiException.notFound("No batch '" + RenderValidation.clip(batchId) + "'");
    }
    int expected = Math.max(members.size(), s.statuses().acceptedRows(batchId));
    stream(
        ctx,
        st -> batchId.equals(st.getBatchId()) && st.getTenant().equals(tenant.id()),
        () -> s.statuses().batch(tenant.id(), batchId),
        sent -> sent.size() >= expected && sent.values().stream().allMatch(Vocabulary::isTerminal));
  }

  /**
   * Streams matching status changes as SSE events ({@code event: status}, {@code id:} the status
   * version) until {@code done} holds after an event, the client goes away or the server stops.
   */
  private void stream(
      Context ctx,
      Predicate<RenderStatus> matches,
      java.util.function.Supplier<List<RenderStatus>> initialAfterSubscribing,
      Predicate<Map<String, RenderState>> done)
      throws IOException {
    // The state of every render as last sent to this client: the stream ends on what the client
    // saw, so a final state is never cut off by a change it has not been sent yet.
    Map<String, RenderState> sent = new HashMap<>();
    Map<String, Long> sentVersion = new HashMap<>();
    BlockingQueue<RenderStatus> queue = new LinkedBlockingQueue<>(100_000);
    StatusView.Listener listener =
        (prev, cur, live) -> {
          if (matches.test(cur)) {
            queue.offer(cur);
          }
        };
    s.statuses().addListener(listener);
    try {
      ctx.status(200);
      ctx.res().setContentType("text/event-stream");
      ctx.res().setCharacterEncoding("UTF-8");
      ctx.res().setHeader("Cache-Control", "no-cache");
      ctx.res().setHeader("X-Accel-Buffering", "no");
      OutputStream out = ctx.res().getOutputStream();
      out.write(": reelflow status stream\n\n".getBytes(StandardCharsets.UTF_8));
      out.flush();
      // Read after subscribing, so no change between the two is lost (at worst sent twice).
      for (RenderStatus st : initialAfterSubscribing.get()) {
        send(out, st);
        sent.put(st.getRequestId(), st.getState());
        sentVersion.put(st.getRequestId(), st.getVersion());
      }
      if (done.test(sent)) {
        return;
      }
      long lastWrite = System.nanoTime();
      while (true) {
        RenderStatus st = queue.poll(1, TimeUnit.SECONDS);
        if (st != null && st.getVersion() <= sentVersion.getOrDefault(st.getRequestId(), -2L)) {
          continue; // already sent as part of the initial snapshot
        }
        if (st != null) {
          send(out, st);
          sent.put(st.getRequestId(), st.getState());
          sentVersion.put(st.getRequestId(), st.getVersion());
          lastWrite = System.nanoTime();
          if (done.test(sent)) {
            return;
          }
        } else if (System.nanoTime() - lastWrite > SSE_KEEPALIVE.toNanos()) {
          out.write(": keep-alive\n\n".getBytes(StandardCharsets.UTF_8));
          out.flush();
          lastWrite = System.nanoTime();
        }
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    } catch (IOException e) {
      LOG.debug("SSE client went away: {}", e.toString());
    } finally {
      s.statuses().removeListener(listener);
    }
  }

  private void send(OutputStream out, RenderStatus st) throws IOException {
    String data = s.json().writeValueAsString(s.renderJson().status(st));
    String event =
        "event: status\nid: "
            + st.getRequestId()
            + ":"
            + st.getVersion()
            + "\ndata: "
            + data
            + "\n\n";
    out.write(event.getBytes(StandardCharsets.UTF_8));
    out.flush();
  }
}
