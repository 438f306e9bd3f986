package dev.reelflow.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.reelflow.engine.testing.SyntheticModelFolder;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

class ModelCommandsTest {
  @TempDir Path tmp;

  private static int run(StringWriter out, String... args) {
    CommandLine cli = ReelflowCli.commandLine();
    cli.setOut(new PrintWriter(out));
    cli.setErr(new PrintWriter(out));
    return cli.execute(args);
  }

  @Test
  void checkPassesOnTheSyntheticFolderAndFailsOnAMissingShard() throws Exception {
    Path folder = SyntheticModelFolder.writeDefault(tmp.resolve("hv15"));
    StringWriter ok = new StringWriter();
    assertThat(run(ok, "model", "check", folder.toString())).isEqualTo(ExitCode.OK);
    assertThat(ok.toString())
        .contains("transformer variants: 11")
        .contains("480p_i2v_step_distilled  OK")
        .contains("fingerprint: sha256:")
        .contains("memory: cpu ")
        .contains("OK (checked in");
    Files.delete(
        folder.resolve("transformer/480p_t2v").resolve(SyntheticModelFolder.shardName(0, 2)));
    StringWriter bad = new StringWriter();
    assertThat(run(bad, "model", "check", folder.toString())).isEqualTo(ExitCode.MODEL_INVALID);
    assertThat(bad.toString())
        .contains("missing shard " + SyntheticModelFolder.shardName(0, 2))
        .contains("FAILED:");
  }

  @Test
  void aPathThatIsNoCheckpointFails() {
    StringWriter out = new StringWriter();
    assertThat(run(out, "model", "check", tmp.toString())).isEqualTo(ExitCode.MODEL_INVALID);
    assertThat(out.toString()).contains("no transformer/");
  }
}
