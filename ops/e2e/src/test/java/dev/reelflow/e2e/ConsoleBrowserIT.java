package dev.reelflow.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import dev.reelflow.cli.LocalPipeline;
import dev.reelflow.orchestrator.OrchestratorSettings;
import dev.reelflow.stack.RequiredTools;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.openqa.selenium.By;
import org.openqa.selenium.JavascriptExecutor;
import org.openqa.selenium.OutputType;
import org.openqa.selenium.TakesScreenshot;
import org.openqa.selenium.WebDriver;
import org.openqa.selenium.WebElement;
import org.openqa.selenium.chrome.ChromeDriver;
import org.openqa.selenium.chrome.ChromeDriverService;
import org.openqa.selenium.chrome.ChromeOptions;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The web console in a real headless browser (Debian's Chromium through its chromedriver) against
 * the whole local pipeline in this JVM (native base engine on seeded random weights): load the
 * console, enter the API key, submit a preview render, watch it progress live, play the finished
 * MP4 in the page's {@code <video>} element and see its manifest and lineage, both read through the
 * API; then an image-to-video render whose first frame is chosen in the file field (sent as a data
 * URI). Skips where no Chromium or chromedriver is installed ({@code apt-get install chromium
 * chromium-driver}).
 */
class ConsoleBrowserIT {
  private static final Logger LOG = LoggerFactory.getLogger(ConsoleBrowserIT.class);
  private static final Path CHROMIUM = Paths.get("/usr/bin/chromium");
  private static final Path CHROMEDRIVER = Paths.get("/usr/bin/chromedriver");
  private static final Duration RENDER_WAIT = Duration.ofSeconds(120);

  @TempDir static Path dir;
  static LocalPipeline pipeline;
  static WebDriver browser;

  @BeforeAll
  static void start() throws IOException {
    RequiredTools.assume(
        "chromium",
        Files.isExecutable(CHROMIUM) && Files.isExecutable(CHROMEDRIVER),
        "ConsoleBrowserIT needs "
            + CHROMIUM
            + " and "
            + CHROMEDRIVER
            + " (Debian: apt-get install chromium chromium-driver)");
    long t0 = System.nanoTime();
    pipeline =
        LocalPipeline.start(
            new LocalPipeline.Options(
                dir,
                1,
                1,
                "native",
                "esrgan",
                0,
                freePort(),
                Map.of(
                    // Short checkpoints: status records become visible at each checkpoint.
                    OrchestratorSettings.CHECKPOINT_INTERVAL.name(), "2s",
                    OrchestratorSettings.STATE_BACKEND.name(), "hashmap",
                    OrchestratorSettings.POSITION_INTERVAL.name(), "1s"),
                Map.of()),
            new PrintStream(OutputStream.nullOutputStream(), true, StandardCharsets.UTF_8));
    LOG.info("pipeline up in {} ms", (System.nanoTime() - t0) / 1_000_000);
    browser = chromium(dir.resolve("chromium-profile"));
  }

  /** The system Chromium and chromedriver; Selenium Manager is never asked to download. */
  private static WebDriver chromium(Path profile) throws IOException {
    System.setProperty("webdriver.chrome.driver", CHROMEDRIVER.toString());
    System.setProperty("SE_OFFLINE", "true");
    Files.createDirectories(profile);
    ChromeOptions options = new ChromeOptions();
    options.setBinary(CHROMIUM.toFile());
    options.addArguments(
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        "--autoplay-policy=no-user-gesture-required",
        "--window-size=1360,1500",
        "--user-data-dir=" + profile);
    ChromeDriverService service =
        new ChromeDriverService.Builder()
            .usingDriverExecutable(CHROMEDRIVER.toFile())
            .usingAnyFreePort()
            .build();
    return new ChromeDriver(service, options);
  }

  @AfterAll
  static void stop() {
    if (browser != null) {
      browser.quit();
    }
    if (pipeline != null) {
      pipeline.close();
    }
  }

  @Test
  void submitWatchPlayAndInspectARenderInTheConsole() throws Exception {
    JavascriptExecutor js = (JavascriptExecutor) browser;
    browser.get(pipeline.apiUrl() + "/console/");
    assertThat(browser.getTitle()).isEqualTo("ReelFlow console");

    // A wrong key shows the problem body; the right one is accepted and remembered.
    type("api-key", "not-a-key");
    browser.findElement(By.id("save-key")).click();
    awaitText(By.id("error"), "401", Duration.ofSeconds(10));
    type("api-key", pipeline.apiKey());
    browser.findElement(By.id("save-key")).click();
    awaitText(By.id("key-state"), "key accepted", Duration.ofSeconds(10));
    assertThat(js.executeScript("return localStorage.getItem('reelflow.apiKey')"))
        .isEqualTo(pipeline.apiKey());

    // A field error from the API is shown with the field's name.
    type("prompt", "a paper boat on a rainy street");
    type("frames", "10");
    browser.findElement(By.id("submit-render")).click();
    awaitText(By.id("error"), "frames", Duration.ofSeconds(10));

    type("frames", "9");
    type("steps", "2");
    choose("resolution", "preview");
    choose("aspect", "16:9");
    choose("upscale", "none");
    long t0 = System.nanoTime();
    browser.findElement(By.id("submit-render")).click();
    WebElement detail = browser.findElement(By.id("detail"));
    await(() -> detail.isDisplayed() && detail.getAttribute("data-id") != null, "the detail panel");
    String id = detail.getAttribute("data-id");
    assertThat(browser.findElement(By.id("error")).isDisplayed()).isFalse();

    // Watch the detail panel update in place (SSE over fetch; no reload) until SUCCEEDED.
    Set<String> seen = new LinkedHashSet<>();
    boolean sawLiveStream = false;
    String status = "";
    while (System.nanoTime() - t0 < RENDER_WAIT.toNanos()) {
      status = text("detail-status");
      Object fraction = js.executeScript("return document.getElementById('detail-progress').value");
      seen.add(status + " " + fraction + " " + text("detail-progress-text"));
      sawLiveStream |= text("live").contains("live");
      if (status.equals("SUCCEEDED") || status.equals("FAILED")) {
        break;
      }
      Thread.sleep(100);
    }
    LOG.info("render {} seen in the console as {}", id, seen);
    assertThat(status).as("render %s; seen %s", id, seen).isEqualTo("SUCCEEDED");
    assertThat(seen).as("progress updates seen").hasSizeGreaterThanOrEqualTo(2);
    assertThat(List.copyOf(seen).get(0)).doesNotStartWith("SUCCEEDED");
    assertThat(sawLiveStream).as("a live event stream was open").isTrue();
    assertThat(
            ((Number) js.executeScript("return document.getElementById('detail-progress').value"))
                .doubleValue())
        .isEqualTo(1.0);
    WebElement row = browser.findElement(By.cssSelector("#renders tr[data-id='" + id + "']"));
    assertThat(row.getText()).contains("SUCCEEDED");

    // Play the result: the H.264 MP4 from its presigned URL loads and reports its duration.
    await(
        () ->
            ((Number) js.executeScript("return document.getElementById('video').readyState"))
                        .intValue()
                    >= 2
                || js.executeScript("return document.getElementById('video').error") != null,
        "video loaded");
    Object error =
        js.executeScript(
            "const e = document.getElementById('video').error; return e && (e.code + ' ' +"
                + " e.message)");
    assertThat(error).as("video element error").isNull();
    Object played =
        ((JavascriptExecutor) browser)
            .executeAsyncScript(
                "const done = arguments[arguments.length - 1];"
                    + "const v = document.getElementById('video'); v.muted = true;"
                    + "v.play().then(() => done('playing'), e => done('play failed: ' + e));");
    assertThat(played).isEqualTo("playing");
    double duration =
        ((Number) js.executeScript("return document.getElementById('video').duration"))
            .doubleValue();
    long width =
        ((Number) js.executeScript("return document.getElementById('video').videoWidth"))
            .longValue();
    LOG.info("video duration {} s, width {} px", duration, width);
    assertThat(duration).isGreaterThan(0).isLessThan(10);
    assertThat(width).isPositive();
    js.executeScript("const v = document.getElementById('video'); v.pause(); v.currentTime = 0;");

    // The manifest panel: manifest.json read through the API (the S3 endpoint sends no CORS
    // headers, so the page never reads the store itself), its fields in a table.
    RenderApi.Answer finished = new RenderApi(pipeline.apiUrl(), pipeline.apiKey()).get(id);
    long seed = finished.json().get("seed").asLong();
    await(
        () -> !browser.findElements(By.cssSelector("#manifest table.kv")).isEmpty(),
        "the manifest table");
    assertThat(manifestField("requestId")).isEqualTo(id);
    assertThat(manifestField("seed")).isEqualTo(Long.toString(seed));
    assertThat(manifestField("resolution")).matches("preview \\d+×\\d+");
    assertThat(manifestField("weightsId")).startsWith("random-init");
    assertThat(browser.findElements(By.id("manifest-frame"))).isEmpty();

    // The lineage panel: the render's OpenLineage events from the API, START first, COMPLETE
    // (with the published outputs) last.
    await(
        () -> {
          List<String> types = lineageTypes();
          return types.contains("START") && types.contains("COMPLETE");
        },
        "START and COMPLETE lineage events");
    List<String> types = lineageTypes();
    LOG.info("lineage events in the console: {}", types);
    assertThat(types.get(0)).isEqualTo("START");
    assertThat(types.get(types.size() - 1)).isEqualTo("COMPLETE");
    String complete =
        (String)
            js.executeScript(
                "return document.querySelector(\"#lineage li[data-event-type='COMPLETE']\")"
                    + ".textContent;");
    assertThat(complete)
        .contains("reelflow/render")
        .contains(id + "/final/video.mp4")
        .contains("artifact");

    Path shot = Paths.get("target", "console-browser.png");
    Files.createDirectories(shot.getParent());
    Files.copy(
        ((TakesScreenshot) browser).getScreenshotAs(OutputType.FILE).toPath(),
        shot,
        StandardCopyOption.REPLACE_EXISTING);
    LOG.info("screenshot in {}", shot.toAbsolutePath());
    js.executeScript("document.getElementById('manifest').scrollIntoView({block: 'start'});");
    Path inspect = Paths.get("target", "console-browser-manifest-lineage.png");
    Files.copy(
        ((TakesScreenshot) browser).getScreenshotAs(OutputType.FILE).toPath(),
        inspect,
        StandardCopyOption.REPLACE_EXISTING);
    js.executeScript("window.scrollTo(0, 0);");

    // A batch file: a bad row answers 422 naming the row and field, and nothing is accepted; a
    // good one is followed live over the batch's event stream until every row has finished.
    // Counted from here: the list also shows renders of this pipeline's other tests.
    int listedBefore = browser.findElements(By.cssSelector("#renders tbody tr")).size();
    Path bad = dir.resolve("bad.ndjson");
    Files.writeString(
        bad,
        "{\"prompt\":\"ok\",\"resolution\":\"preview\",\"frames\":9,\"steps\":2}\n"
            + "{\"prompt\":\"bad\",\"resolution\":\"preview\",\"frames\":10}\n");
    browser.findElement(By.id("batch-file")).sendKeys(bad.toString());
    browser.findElement(By.id("submit-batch")).click();
    awaitText(By.id("error"), "rows[1].frames", Duration.ofSeconds(10));
    Path good = dir.resolve("good.ndjson");
    Files.writeString(
        good,
        "{\"prompt\":\"a lighthouse in fog\",\"resolution\":\"preview\",\"frames\":9,"
            + "\"steps\":2,\"upscale\":\"none\"}\n");
    browser.findElement(By.id("batch-file")).sendKeys(good.toString());
    browser.findElement(By.id("submit-batch")).click();
    awaitText(By.id("batch"), "1 of 1 finished", RENDER_WAIT);
    assertThat(text("batch")).contains("succeeded 1");
    assertThat(browser.findElement(By.id("error")).isDisplayed()).isFalse();
    assertThat(browser.findElements(By.cssSelector("#renders tbody tr")))
        .as("the good batch's one render added, nothing of the bad one")
        .hasSize(listedBefore + 1);
  }

  // Read in one script each: the panels are re-rendered as the render's status changes, so
  // element handles could go stale between two WebDriver calls.

  /** The value cell of a row of the manifest table. */
  private String manifestField(String field) {
    return (String)
        ((JavascriptExecutor) browser)
            .executeScript(
                "const td = document.querySelector(\"#manifest table.kv tr[data-field='\" +"
                    + " arguments[0] + \"'] td\"); return td ? td.textContent : null;",
                field);
  }

  @Test
  void anImageToVideoRenderFromTheFirstFrameField() throws Exception {
    browser.get(pipeline.apiUrl() + "/console/");
    type("api-key", pipeline.apiKey());
    browser.findElement(By.id("save-key")).click();
    awaitText(By.id("key-state"), "key accepted", Duration.ofSeconds(10));
    java.awt.image.BufferedImage im =
        new java.awt.image.BufferedImage(120, 80, java.awt.image.BufferedImage.TYPE_INT_RGB);
    for (int y = 0; y < 80; y++) {
      for (int x = 0; x < 120; x++) {
        im.setRGB(x, y, (x * 2) << 16 | (y * 3) << 8 | 0x60);
      }
    }
    Path png = dir.resolve("first-frame.png");
    javax.imageio.ImageIO.write(im, "png", png.toFile());
    type("prompt", "the paper boat sails off");
    type("frames", "5");
    type("steps", "2");
    choose("resolution", "preview");
    choose("upscale", "none");
    WebElement detail = browser.findElement(By.id("detail"));
    String before = detail.getAttribute("data-id");
    browser.findElement(By.id("image")).sendKeys(png.toString());
    browser.findElement(By.id("submit-render")).click();
    await(
        () -> {
          String now = detail.getAttribute("data-id");
          return now != null && !now.equals(before);
        },
        "the new render's detail panel");
    String id = detail.getAttribute("data-id");
    long end = System.nanoTime() + RENDER_WAIT.toNanos();
    String status = "";
    while (System.nanoTime() < end) {
      status = text("detail-status");
      if (status.equals("SUCCEEDED") || status.equals("FAILED")) {
        break;
      }
      Thread.sleep(200);
    }
    assertThat(status).as("i2v render %s", id).isEqualTo("SUCCEEDED");
    // the request went out as image-to-video: the manifest says so
    java.net.http.HttpResponse<String> m =
        java.net.http.HttpClient.newHttpClient()
            .send(
                java.net.http.HttpRequest.newBuilder(
                        java.net.URI.create(pipeline.apiUrl() + "/v1/renders/" + id + "/manifest"))
                    .header("Authorization", "Bearer " + pipeline.apiKey())
                    .build(),
                java.net.http.HttpResponse.BodyHandlers.ofString());
    assertThat(m.statusCode()).as(m.body()).isEqualTo(200);
    assertThat(m.body()).containsPattern("\"mode\"\\s*:\\s*\"i2v\"");
  }

  /** The event types the lineage panel lists, in its order. */
  @SuppressWarnings("unchecked")
  private List<String> lineageTypes() {
    return (List<String>)
        ((JavascriptExecutor) browser)
            .executeScript(
                "return [...document.querySelectorAll('#lineage ol.events > li')]"
                    + ".map(li => li.dataset.eventType);");
  }

  private void type(String id, String value) {
    WebElement e = browser.findElement(By.id(id));
    e.clear();
    e.sendKeys(value);
  }

  /** Picks an option of a select by clicking it, as a user would. */
  private void choose(String selectId, String value) {
    browser.findElement(By.id(selectId)).click();
    browser.findElement(By.cssSelector("#" + selectId + " option[value='" + value + "']")).click();
    assertThat(browser.findElement(By.id(selectId)).getAttribute("value")).isEqualTo(value);
  }

  private String text(String id) {
    return browser.findElement(By.id(id)).getText();
  }

  private void awaitText(By by, String expected, Duration timeout) throws InterruptedException {
    long end = System.nanoTime() + timeout.toNanos();
    while (System.nanoTime() < end) {
      if (browser.findElement(by).getText().contains(expected)) {
        return;
      }
      Thread.sleep(100);
    }
    assertThat(browser.findElement(by).getText()).contains(expected);
  }

  private void await(java.util.function.BooleanSupplier condition, String what)
      throws InterruptedException {
    long end = System.nanoTime() + Duration.ofSeconds(30).toNanos();
    while (System.nanoTime() < end) {
      if (condition.getAsBoolean()) {
        return;
      }
      Thread.sleep(100);
    }
    throw new AssertionError("timed out waiting for " + what);
  }

  private static int freePort() throws IOException {
    try (ServerSocket socket = new ServerSocket(0)) {
      return socket.getLocalPort();
    }
  }
}
