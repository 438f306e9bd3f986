package dev.reelflow.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.reelflow.storage.input.ImageFormat;
import dev.reelflow.storage.input.ImageLimits;
import java.io.IOException;
import java.io.PrintStream;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** The commands that talk to a running ReelFlow through its HTTP API. */
final class ClientCommands {
  private static final ObjectMapper JSON = new ObjectMapper();

  private ClientCommands() {}

  static void printJson(PrintStream out, JsonNode node) {
    try {
      out.println(JSON.writerWithDefaultPrettyPrinter().writeValueAsString(node));
    } catch (Exception e) {
      out.println(node);
    }
  }

  /** Exit code for a set of finished renders: 0 when all succeeded. */
  static int exitCodeOf(List<JsonNode> renders) {
    return renders.stream().allMatch(r -> "SUCCEEDED".equals(r.path("status").asText()))
        ? ExitCode.OK
        : ExitCode.RENDER_FAILED;
  }

  @Command(
      name = "submit",
      mixinStandardHelpOptions = true,
      description = "Submit one prompt, or a file of many (NDJSON or CSV with a header row).")
  static final class Submit implements Callable<Integer> {
    @Mixin ApiOptions api;

    @Parameters(arity = "0..1", description = "The prompt (omit when using --file).")
    String prompt;

    @Option(names = "--file", description = "NDJSON (.ndjson/.jsonl) or CSV (.csv) batch file.")
    Path file;

    @Option(names = "--resolution", description = "preview, 480p or 720p.")
    String resolution;

    @Option(names = "--aspect-ratio", description = "16:9, 9:16, 1:1, 4:3 or 3:4.")
    String aspectRatio;

    @Option(names = "--frames", description = "Frames, 4k+1 in 1..241.")
    Integer frames;

    @Option(names = "--steps", description = "Denoising steps.")
    Integer steps;

    @Option(
        names = "--seed",
        description = "Random seed, 0..9007199254740990 (2^53 - 2); ReelFlow picks one if absent.")
    Long seed;

    @Option(names = "--upscale", description = "none or 1080p.")
    String upscale;

    @Option(names = "--priority", description = "0..9, higher first.")
    Integer priority;

    @Option(names = "--idempotency-key", description = "Idempotency-Key header (single renders).")
    String idempotencyKey;

    @Option(
        names = "--image",
        paramLabel = "FILE|URL",
        description =
            "First frame for image-to-video: a PNG, JPEG or WebP file (sent inline as a data URI;"
                + " the API's limit is 10 MiB by default), an https URL or s3://bucket/key of your"
                + " own. Single renders only.")
    String image;

    @Option(names = "--wait", description = "Wait for the renders to finish, with progress bars.")
    boolean await;

    @Option(names = "--timeout", defaultValue = "PT30M", description = "Maximum wait (ISO-8601).")
    Duration timeout;

    @Override
    public Integer call() {
      if ((prompt == null) == (file == null)) {
        throw new CliException(ExitCode.USAGE, "give either a prompt or --file, not both");
      }
      if (image != null && file != null) {
        throw new CliException(
            ExitCode.USAGE, "--image is for a single render; give imageUrl per row in --file");
      }
      ApiClient client = api.client();
      List<String> ids = new ArrayList<>();
      JsonNode answer;
      if (file != null) {
        Map<String, String> defaults = new LinkedHashMap<>();
        defaults.put("resolution", resolution);
        defaults.put("aspectRatio", aspectRatio);
        defaults.put("frames", frames == null ? null : frames.toString());
        defaults.put("steps", steps == null ? null : steps.toString());
        defaults.put("upscale", upscale);
        defaults.put("priority", priority == null ? null : priority.toString());
        answer = client.submitBatch(file, defaults);
      } else {
        ObjectNode body = JSON.createObjectNode().put("prompt", prompt);
        putIf(body, "resolution", resolution);
        putIf(body, "aspectRatio", aspectRatio);
        putIf(body, "upscale", upscale);
        if (frames != null) body.put("frames", frames);
        if (steps != null) body.put("steps", steps);
        if (seed != null) body.put("seed", seed);
        if (priority != null) body.put("priority", priority);
        if (image != null) {
          body.put("mode", "i2v");
          body.put("imageUrl", imageUrl(image));
        }
        answer = client.submit(body, idempotencyKey);
        ids.add(answer.path("id").asText());
      }
      if (api.json) {
        printJson(System.out, answer);
      } else if (file != null) {
        System.out.printf(
            "batch %s accepted: %d renders%n",
            answer.path("batchId").asText(), answer.path("count").asInt());
      } else {
        System.out.printf(
            "render %s %s%n", answer.path("id").asText(), answer.path("status").asText());
      }
      if (!await) {
        return ExitCode.OK;
      }
      RenderWatcher watcher = new RenderWatcher(client, System.out, System.console() != null);
      List<JsonNode> done =
          file != null
              ? watcher.awaitBatch(
                  answer.path("batchId").asText(), answer.path("count").asInt(), timeout)
              : watcher.await(ids, timeout);
      return exitCodeOf(done);
    }

    /**
     * The {@code imageUrl} of {@code --image}: URLs as given, a local file as a data URI of the
     * type its first bytes announce (PNG, JPEG or WebP).
     */
    static String imageUrl(String value) {
      String lower = value.toLowerCase(Locale.ROOT);
      if (lower.startsWith("https://")
          || lower.startsWith("http://")
          || lower.startsWith("s3://")) {
        return value;
      }
      Path f = Path.of(value);
      byte[] bytes;
      try {
        long size = Files.size(f);
        if (size > ImageLimits.MAX_BYTES_CEILING) {
          throw new CliException(
              ExitCode.USAGE,
              "--image " + value + " has " + size + " bytes; the API takes at most 16 MiB");
        }
        bytes = Files.readAllBytes(f);
      } catch (IOException e) {
        throw new CliException(
            ExitCode.USAGE, "--image: cannot read " + value + ": " + e.getMessage());
      }
      ImageFormat type =
          ImageFormat.sniff(bytes)
              .orElseThrow(
                  () ->
                      new CliException(
                          ExitCode.USAGE,
                          "--image " + value + " is not a PNG, JPEG or WebP image"));
      return "data:" + type.mediaType() + ";base64," + Base64.getEncoder().encodeToString(bytes);
    }

    private static void putIf(ObjectNode body, String field, String value) {
      if (value != null) {
        body.put(field, value);
      }
    }
  }

  @Command(
      name = "status",
      mixinStandardHelpOptions = true,
      description = "Show renders: one by id, or a list filtered by batch, status or label.")
  static final class Status implements Callable<Integer> {
    @Mixin ApiOptions api;

    @Parameters(arity = "0..1", description = "Render id.")
    String id;

    @Option(names = "--batch", description = "List the renders of a batch.")
    String batchId;

    @Option(names = "--status", description = "Filter the list by status.")
    String status;

    @Option(names = "--label", description = "Filter the list by label k:v.")
    String label;

    @Override
    public Integer call() {
      ApiClient client = api.client();
      if (id != null) {
        JsonNode render = client.render(id);
        if (api.json) {
          printJson(System.out, render);
        } else {
          System.out.println(describe(render));
        }
        return ExitCode.OK;
      }
      Map<String, String> filters = new LinkedHashMap<>();
      filters.put("batchId", batchId);
      filters.put("status", status);
      filters.put("label", label);
      ArrayNode all = JSON.createArrayNode();
      client.listAll(filters).forEach(all::add);
      if (api.json) {
        printJson(System.out, all);
      } else {
        all.forEach(r -> System.out.println(describe(r)));
      }
      return ExitCode.OK;
    }

    static String describe(JsonNode r) {
      StringBuilder line =
          new StringBuilder(r.path("id").asText()).append("  ").append(r.path("status").asText());
      if (r.hasNonNull("stage")) {
        line.append(" (").append(r.path("stage").asText()).append(')');
      }
      JsonNode progress = r.path("progress");
      if (progress.hasNonNull("totalSteps")) {
        line.append("  step ")
            .append(progress.path("step").asInt())
            .append('/')
            .append(progress.path("totalSteps").asInt());
      }
      if (r.hasNonNull("queuePosition")) {
        line.append("  queue position ").append(r.path("queuePosition").asLong());
      }
      if (r.hasNonNull("error")) {
        line.append("  ")
            .append(r.path("error").path("code").asText())
            .append(": ")
            .append(r.path("error").path("message").asText());
      }
      return line.toString();
    }
  }

  @Command(
      name = "watch",
      mixinStandardHelpOptions = true,
      description = "Watch renders (ids, or --batch) with live progress until they end.")
  static final class Watch implements Callable<Integer> {
    @Mixin ApiOptions api;

    @Parameters(arity = "0..*", description = "Render ids.")
    List<String> ids = new ArrayList<>();

    @Option(names = "--batch", description = "Watch every render of a batch.")
    String batchId;

    @Option(names = "--timeout", defaultValue = "PT30M", description = "Maximum wait (ISO-8601).")
    Duration timeout;

    @Override
    public Integer call() {
      ApiClient client = api.client();
      RenderWatcher watcher =
          new RenderWatcher(client, System.out, System.console() != null && !api.json);
      List<String> watched = new ArrayList<>(ids);
      if (batchId != null) {
        watcher.listBatch(batchId).forEach(r -> watched.add(r.path("id").asText()));
      }
      if (watched.isEmpty()) {
        throw new CliException(ExitCode.USAGE, "nothing to watch: give render ids or --batch");
      }
      List<JsonNode> done = watcher.await(watched, timeout);
      if (api.json) {
        printJson(System.out, JSON.valueToTree(done));
      }
      return exitCodeOf(done);
    }
  }

  @Command(
      name = "cancel",
      mixinStandardHelpOptions = true,
      description = "Cancel renders (queued or running).")
  static final class Cancel implements Callable<Integer> {
    @Mixin ApiOptions api;

    @Parameters(arity = "1..*", description = "Render ids.")
    List<String> ids;

    @Override
    public Integer call() {
      ApiClient client = api.client();
      for (String id : ids) {
        JsonNode answer = client.cancel(id);
        if (api.json) {
          printJson(System.out, answer);
        } else {
          System.out.printf(
              "cancel requested for %s (was %s)%n", id, answer.path("status").asText());
        }
      }
      return ExitCode.OK;
    }
  }

  @Command(
      name = "outputs",
      mixinStandardHelpOptions = true,
      description = "Download the outputs (video, poster, manifest) of finished renders.")
  static final class Outputs implements Callable<Integer> {
    @Mixin ApiOptions api;

    @Parameters(arity = "1..*", description = "Render ids.")
    List<String> ids;

    @Option(
        names = "--to",
        defaultValue = "reelflow-outputs",
        description = "Directory to download into (one folder per render).")
    Path target;

    @Override
    public Integer call() {
      ApiClient client = api.client();
      int code = ExitCode.OK;
      for (String id : ids) {
        JsonNode render = client.render(id);
        if (!"SUCCEEDED".equals(render.path("status").asText())) {
          System.err.printf("%s is %s: no outputs%n", id, render.path("status").asText());
          code = ExitCode.RENDER_FAILED;
          continue;
        }
        for (Path file : download(client, render, target)) {
          System.out.println(file);
        }
      }
      return code;
    }

    /** Downloads video, poster and manifest of one render; returns the local files. */
    static List<Path> download(ApiClient client, JsonNode render, Path target) {
      List<Path> files = new ArrayList<>();
      Path dir = target.resolve(render.path("id").asText().replaceAll("[^A-Za-z0-9._-]", "_"));
      JsonNode outputs = render.path("outputs");
      for (String name : List.of("video", "poster", "manifest")) {
        String url = outputs.path(name).asText(null);
        if (url == null || url.isEmpty()) {
          continue;
        }
        String file =
            switch (name) {
              case "video" -> "video.mp4";
              case "poster" -> "poster.jpg";
              default -> "manifest.json";
            };
        Path local = dir.resolve(file);
        client.download(URI.create(url), local);
        files.add(local);
      }
      return files;
    }
  }

  @Command(
      name = "schedules",
      mixinStandardHelpOptions = true,
      description = "Manage scheduled bulk renders.",
      subcommands = {
        Schedules.Add.class,
        Schedules.ListSchedules.class,
        Schedules.Remove.class,
        Schedules.Run.class
      })
  static final class Schedules {
    @Command(name = "add", mixinStandardHelpOptions = true, description = "Add a schedule.")
    static final class Add implements Callable<Integer> {
      @Mixin ApiOptions api;

      @Option(names = "--name", required = true, description = "Schedule name.")
      String name;

      @Option(
          names = "--cron",
          required = true,
          description = "Cron expression (Unix 5 fields or Quartz 6-7 fields).")
      String cron;

      @Option(names = "--timezone", defaultValue = "UTC", description = "IANA time zone.")
      String timezone;

      @Option(names = "--prompt", required = true, description = "Template prompt.")
      String prompt;

      @Option(names = "--resolution", defaultValue = "preview", description = "Resolution.")
      String resolution;

      @Option(names = "--disabled", description = "Create it paused.")
      boolean disabled;

      @Override
      public Integer call() {
        ObjectNode body =
            JSON.createObjectNode()
                .put("name", name)
                .put("cron", cron)
                .put("timezone", timezone)
                .put("enabled", !disabled);
        body.putObject("template").put("prompt", prompt).put("resolution", resolution);
        JsonNode answer = api.client().addSchedule(body);
        if (api.json) {
          printJson(System.out, answer);
        } else {
          System.out.printf("schedule %s created%n", answer.path("id").asText());
        }
        return ExitCode.OK;
      }
    }

    @Command(name = "list", mixinStandardHelpOptions = true, description = "List schedules.")
    static final class ListSchedules implements Callable<Integer> {
      @Mixin ApiOptions api;

      @Override
      public Integer call() {
        JsonNode answer = api.client().schedules();
        if (api.json) {
          printJson(System.out, answer);
        } else {
          JsonNode items = answer.has("items") ? answer.path("items") : answer;
          for (JsonNode s : items) {
            System.out.printf(
                "%s  %-24s %-20s %-16s %s%n",
                s.path("id").asText(),
                s.path("name").asText(),
                s.path("cron").asText(),
                s.path("timezone").asText(),
                s.path("enabled").asBoolean(true) ? "enabled" : "paused");
          }
        }
        return ExitCode.OK;
      }
    }

    @Command(name = "remove", mixinStandardHelpOptions = true, description = "Delete a schedule.")
    static final class Remove implements Callable<Integer> {
      @Mixin ApiOptions api;

      @Parameters(arity = "1", description = "Schedule id.")
      String id;

      @Override
      public Integer call() {
        api.client().removeSchedule(id);
        if (!api.json) {
          System.out.printf("schedule %s removed%n", id);
        }
        return ExitCode.OK;
      }
    }

    @Command(name = "run", mixinStandardHelpOptions = true, description = "Fire a schedule now.")
    static final class Run implements Callable<Integer> {
      @Mixin ApiOptions api;

      @Parameters(arity = "1", description = "Schedule id.")
      String id;

      @Override
      public Integer call() {
        JsonNode answer = api.client().runSchedule(id);
        if (api.json) {
          printJson(System.out, answer);
        } else {
          System.out.printf("schedule %s fired%n", id);
        }
        return ExitCode.OK;
      }
    }
  }
}
