package dev.reelflow.e2e;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.reelflow.engine.StepListener;
import dev.reelflow.schemas.avro.ErrorCode;
import dev.reelflow.stack.RequiredTools;
import dev.reelflow.worker.WorkerProcess;
import dev.reelflow.worker.spi.BaseVideoEngine;
import dev.reelflow.worker.spi.BaseVideoJob;
import dev.reelflow.worker.spi.BaseVideoResult;
import dev.reelflow.worker.spi.EngineContext;
import dev.reelflow.worker.spi.EngineSettings;
import dev.reelflow.worker.spi.TaskCancelledException;
import java.io.File;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The reference resident server for the official HunyuanVideo-1.5 pipeline ({@code
 * ops/resident/hunyuan_resident_server.py}) with the official pipeline REPLACED BY A STAND-IN
 * ({@code ops/resident/tests/standin_hyvideo.py}): the official package and its weights are not
 * installed where this runs, so what is tested is our server's protocol handling, not the model.
 * Its Python unit tests run, then the worker's resident engine drives the server process.
 */
class ReferenceServerStandInPipelineTest {
  static final Path RESIDENT = Path.of("..", "resident").toAbsolutePath().normalize();
  static Path python;

  @TempDir Path dir;

  /** A python3 (system first, then PATH) that has numpy, which the server needs. */
  @BeforeAll
  static void findPython() throws Exception {
    List<Path> candidates = new ArrayList<>();
    candidates.add(Path.of("/usr/bin/python3"));
    for (String d : System.getenv().getOrDefault("PATH", "").split(File.pathSeparator)) {
      candidates.add(Path.of(d, "python3"));
    }
    List<Path> found = candidates.stream().filter(Files::isExecutable).distinct().toList();
    RequiredTools.assume(
        "python3",
        !found.isEmpty(),
        "no python3 (neither /usr/bin/python3 nor on PATH) to run the reference server");
    for (Path p : found) {
      Process check = new ProcessBuilder(p.toString(), "-c", "import numpy").start();
      if (check.waitFor(60, TimeUnit.SECONDS) && check.exitValue() == 0) {
        python = p;
        return;
      }
    }
    throw new AssertionError(
        "python3 exists ("
            + found
            + ") but none can import numpy, which the reference server needs; install it"
            + " (Debian: apt-get install python3-numpy)");
  }

  @Test
  void theServersPythonTestsPassWithTheStandInPipeline() throws Exception {
    Process p =
        new ProcessBuilder(python.toString(), "-m", "unittest", "discover", "-s", "tests", "-v")
            .directory(RESIDENT.toFile())
            .redirectErrorStream(true)
            .start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertThat(p.waitFor(120, TimeUnit.SECONDS)).isTrue();
    assertThat(p.exitValue()).as(out).isZero();
    assertThat(out).contains("Ran 10 tests").contains("OK");
  }

  /** Engine context of one task: records steps, cancels on request. */
  static final class Context implements EngineContext {
    final Path workDir;
    final List<String> steps = new CopyOnWriteArrayList<>();
    volatile boolean cancel;
    volatile int cancelAtStep = -1;

    Context(Path workDir) {
      this.workDir = workDir;
    }

    @Override
    public String taskId() {
      return "t";
    }

    @Override
    public Path workDir() {
      return workDir;
    }

    @Override
    public long deviceMemoryBudgetBytes() {
      return 0;
    }

    @Override
    public boolean offloadWeights() {
      return false;
    }

    @Override
    public boolean cancelRequested() {
      return cancel;
    }

    @Override
    public void checkCancelled() throws TaskCancelledException {
      if (cancel) {
        throw new TaskCancelledException(ErrorCode.CANCELLED, "test cancel");
      }
    }

    @Override
    public StepListener listener() {
      return (phase, done, total) -> {
        steps.add(phase + " " + done + "/" + total);
        if (done == cancelAtStep) {
          cancel = true;
        }
      };
    }
  }

  @Test
  void theResidentEngineDrivesTheServerProcessWithTheStandInPipeline() throws Exception {
    Map<String, String> o = new HashMap<>();
    o.put(
        "command",
        "\""
            + python
            + "\" \""
            + RESIDENT.resolve("hunyuan_resident_server.py")
            + "\" --model-path \""
            + dir
            + "\" --pipeline-module standin_hyvideo --cfg-distilled true");
    o.put("env.PYTHONPATH", RESIDENT.resolve("tests").toString());
    o.put("load-timeout", "60s");
    o.put("cancel-grace", "3s");
    BaseVideoEngine engine =
        WorkerProcess.builtinEngines()
            .build()
            .createBase(new EngineSettings("resident", o, "cpu", 0, false));
    try {
      long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
      while (!engine.status().isReady()) {
        assertThat(System.nanoTime()).as("ready: %s", engine.status()).isLessThan(end);
        Thread.sleep(50);
      }
      assertThat(engine.describe().modelId()).isEqualTo("hunyuanvideo-1.5-480p_t2v_distilled");
      assertThat(engine.describe().emulated()).isFalse();
      assertThat(engine.defaultSteps()).isEqualTo(50);

      Context ctx = new Context(Files.createDirectories(dir.resolve("task-1")));
      BaseVideoJob job =
          new BaseVideoJob(
              "t-1", "r-1", "a red fox", "", null, "preview", 256, 144, 9, 24, 3, null, 11L);
      BaseVideoResult r = engine.generate(job, ctx);
      assertThat(ctx.steps).containsExactly("denoise 1/3", "denoise 2/3", "denoise 3/3");
      assertThat(r.videoFile()).exists().hasFileName("output.y4m");
      assertThat(Files.readAllBytes(r.videoFile()))
          .startsWith("YUV4MPEG2 W256 H144".getBytes(StandardCharsets.US_ASCII));
      assertThat(r.latents().shape()).containsExactly(4, 3, 9, 16);
      assertThat(r.facts())
          .containsEntry("transformerVersion", "480p_t2v_distilled")
          .containsEntry("program", "hunyuan_resident_server.py");

      Context slow = new Context(Files.createDirectories(dir.resolve("task-2")));
      slow.cancelAtStep = 2;
      BaseVideoJob long40 =
          new BaseVideoJob(
              "t-2", "r-2", "slow [slow]", "", null, "preview", 256, 144, 9, 24, 40, null, 1L);
      long t0 = System.nanoTime();
      assertThatThrownBy(() -> engine.generate(long40, slow))
          .isInstanceOf(TaskCancelledException.class);
      assertThat((System.nanoTime() - t0) / 1_000_000)
          .as("stopped at the next step, not after 40 x 100 ms")
          .isLessThan(3_500);
      assertThat(engine.status().isReady()).as("cancelled without a restart").isTrue();
    } finally {
      engine.close();
    }
  }
}
