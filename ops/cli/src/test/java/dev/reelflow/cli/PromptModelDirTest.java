package dev.reelflow.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.reelflow.engine.testing.SyntheticTokenizer;
import dev.reelflow.worker.WorkerConfig;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code reelflow up --model-dir}: ingest counts prompts with the folder's tokenizer. */
class PromptModelDirTest {
  @TempDir Path dir;

  @Test
  void aFolderWithTheTextEncodersTokenizerIsHandedToIngest() throws Exception {
    SyntheticTokenizer.write(dir.resolve("text_encoder/llm"));
    assertThat(LocalPipeline.promptModelDir(Map.of(WorkerConfig.MODEL_DIR.name(), dir.toString())))
        .contains(dir.toString());
  }

  @Test
  void withoutTextEncodersOrWithoutAFolderPromptsAreBoundedInCharactersOnly() throws Exception {
    Files.createDirectories(dir.resolve("transformer/480p_t2v"));
    assertThat(LocalPipeline.promptModelDir(Map.of(WorkerConfig.MODEL_DIR.name(), dir.toString())))
        .isEmpty();
    assertThat(LocalPipeline.promptModelDir(Map.of())).isEmpty();
  }
}
