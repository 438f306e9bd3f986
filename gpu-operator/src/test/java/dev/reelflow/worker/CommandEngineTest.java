package dev.reelflow.worker;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.reelflow.schemas.avro.ErrorCode;
import dev.reelflow.worker.spi.BaseVideoJob;
import dev.reelflow.worker.spi.BaseVideoResult;
import dev.reelflow.worker.spi.EngineException;
import dev.reelflow.worker.spi.EngineSettings;
import dev.reelflow.worker.spi.TaskCancelledException;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class CommandEngineTest {

  @TempDir Path dir;

  static Path script() {
    try {
      return Path.of(CommandEngineTest.class.getResource("fake-generate.sh").toURI());
    } catch (URISyntaxException e) {
      throw new IllegalStateException(e);
    }
  }

  /** The command template the ITs use too: the fake generate.py with tqdm output. */
  static String template(String extra) {
    return "bash "
        + script()
        + " --prompt {prompt} --seed {seed} --resolution {resolution} --width {width}"
        + " --height {height} --video_length {frames} --num_inference_steps {steps} --fps {fps}"
        + " --output_path {output} "
        + extra;
  }

  static CommandEngine engine(String extra) {
    Map<String, String> o = new HashMap<>();
    o.put("command", template(extra));
    o.put("default-steps", "6");
    return new CommandEngine(new EngineSettings("command", o, "cpu", 0, false));
  }

  static BaseVideoJob job(String prompt, int frames, Integer steps) {
    return new BaseVideoJob(
        "r-1:BASE:1", "r-1", prompt, "", null, "preview", 256, 144, frames, 24, steps, null, 7L);
  }

  @Test
  void tokenizesQuotedArgumentsAndKeepsPlaceholdersInsideOneArgument() {
    assertThat(CommandEngine.tokenize("python generate.py --prompt \"{prompt}\" --x  'a'"))
        .containsExactly("python", "generate.py", "--prompt", "{prompt}", "--x", "'a'");
    CommandEngine e = engine("");
    List<String> cmd = e.commandLine(job("a cat \"on\" a mat", 17, null), dir);
    int i = cmd.indexOf("--prompt");
    assertThat(cmd.get(i + 1)).isEqualTo("a cat \"on\" a mat");
    assertThat(cmd)
        .contains(
            "--num_inference_steps", "6", "--output_path", dir.resolve("output.mp4").toString());
  }

  @Test
  void runsTheProgramReportsEveryStepAndPicksUpTheVideo() throws Exception {
    Ffprobe.assumeInstalled();
    RecordingContext ctx = new RecordingContext(dir);
    BaseVideoResult r = engine("").generate(job("a red fox", 17, 5), ctx);

    assertThat(ctx.steps)
        .containsExactly("denoise 1/5", "denoise 2/5", "denoise 3/5", "denoise 4/5", "denoise 5/5");
    assertThat(r.videoFile()).exists();
    VideoCodec.Decoded d = VideoCodec.decode(r.videoFile());
    assertThat(d.frames().count()).isEqualTo(17);
    assertThat(d.frames().width()).isEqualTo(256);
    assertThat(engine("").describe().emulated()).isFalse();
  }

  @Test
  void cancelKillsTheWholeProcessTreeWithinAStep() throws Exception {
    RecordingContext ctx = new RecordingContext(dir);
    ctx.onStep =
        k -> {
          if (k == 2) {
            ctx.cancel = ErrorCode.CANCELLED;
          }
        };
    long t0 = System.nanoTime();
    assertThatThrownBy(() -> engine("--step_seconds 0.3").generate(job("slow", 17, 50), ctx))
        .isInstanceOfSatisfying(
            TaskCancelledException.class, e -> assertThat(e.code()).isEqualTo(ErrorCode.CANCELLED));
    long ms = (System.nanoTime() - t0) / 1_000_000;
    assertThat(ms).as("stopped long before 50 steps of 300 ms").isLessThan(5_000);
    assertThat(ctx.steps.size()).isLessThanOrEqualTo(3);
    long child = Long.parseLong(Files.readString(dir.resolve("child.pid")).trim());
    assertThat(deadWithin(child, 5_000)).as("helper child killed").isTrue();
  }

  /** True once the process is gone or a zombie (killed, waiting for its reaper). */
  static boolean deadWithin(long pid, long millis) throws Exception {
    long end = System.currentTimeMillis() + millis;
    while (System.currentTimeMillis() < end) {
      Optional<ProcessHandle> h = ProcessHandle.of(pid);
      if (h.isEmpty() || !h.get().isAlive()) {
        return true;
      }
      Path stat = Path.of("/proc", Long.toString(pid), "stat");
      if (Files.exists(stat)) {
        String st = Files.readString(stat);
        int close = st.lastIndexOf(')');
        if (close > 0 && st.length() > close + 2 && st.charAt(close + 2) == 'Z') {
          return true;
        }
      }
      Thread.sleep(50);
    }
    return false;
  }

  @Test
  void badArgumentsArePermanentAndProgramErrorsRetryable() {
    RecordingContext ctx = new RecordingContext(dir);
    assertThatThrownBy(() -> engine("--bogus 1").generate(job("x", 17, 2), ctx))
        .isInstanceOfSatisfying(
            EngineException.class,
            e -> {
              assertThat(e.code()).isEqualTo(ErrorCode.BAD_PARAMETERS);
              assertThat(e.retryable()).isFalse();
              assertThat(e.getMessage()).contains("unrecognized arguments");
            });
    assertThatThrownBy(() -> engine("--fail engine").generate(job("x", 17, 2), ctx))
        .isInstanceOfSatisfying(
            EngineException.class,
            e -> {
              assertThat(e.code()).isEqualTo(ErrorCode.ENGINE_ERROR);
              assertThat(e.retryable()).isTrue();
              assertThat(e.getMessage()).contains("illegal memory access");
            });
  }

  @Test
  void timeoutKillsTheProgram() {
    Map<String, String> o = new HashMap<>();
    o.put("command", template("--step_seconds 1"));
    o.put("timeout", "700ms");
    CommandEngine e = new CommandEngine(new EngineSettings("command", o, "cpu", 0, false));
    assertThatThrownBy(() -> e.generate(job("x", 17, 30), new RecordingContext(dir)))
        .isInstanceOfSatisfying(
            EngineException.class, ex -> assertThat(ex.code()).isEqualTo(ErrorCode.TIMEOUT));
  }

  @Test
  void rejectsAProgressPatternWithoutNamedGroups() {
    Map<String, String> o = Map.of("command", "x", "progress-pattern", "(\\d+)/(\\d+)");
    assertThatThrownBy(() -> new CommandEngine(new EngineSettings("command", o, "cpu", 0, false)))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("named groups");
  }
}
