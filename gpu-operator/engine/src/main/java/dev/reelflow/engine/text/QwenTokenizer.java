package dev.reelflow.engine.text;

import ai.djl.huggingface.tokenizers.Encoding;
import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import dev.reelflow.engine.EngineApi;
import dev.reelflow.engine.checkpoint.ModelFolderException;
import dev.reelflow.engine.weights.Json;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

/**
 * A checkpoint's {@code tokenizer.json} read by the Hugging Face tokenizers library ({@code
 * ai.djl.huggingface:tokenizers}, native library bundled, no network): ids without special tokens
 * added, no truncation, no padding (the template and the window are ours, see {@link
 * PromptTemplate}). The padding id is the {@code pad_token} of {@code tokenizer_config.json} next
 * to it, {@code <|endoftext|>} (Qwen's) when there is none.
 */
@EngineApi
public final class QwenTokenizer implements AutoCloseable {
  /** Qwen's padding token, used when {@code tokenizer_config.json} names none. */
  public static final String DEFAULT_PAD = "<|endoftext|>";

  private final HuggingFaceTokenizer tokenizer;
  private final Path file;
  private final int padId;

  private QwenTokenizer(HuggingFaceTokenizer tokenizer, Path file, String padToken) {
    this.tokenizer = tokenizer;
    this.file = file;
    int[] pad = encode(padToken);
    if (pad.length != 1) {
      tokenizer.close();
      throw new ModelFolderException(
          file + ": the padding token " + padToken + " is not one token of the vocabulary");
    }
    this.padId = pad[0];
  }

  /**
   * Opens {@code tokenizer.json} in {@code dir} (and reads {@code tokenizer_config.json} beside it
   * for the padding token, when present).
   *
   * @throws ModelFolderException when the file is missing or the library cannot read it
   */
  public static QwenTokenizer open(Path dir) {
    Path json = dir.resolve("tokenizer.json");
    if (!Files.isRegularFile(json)) {
      throw new ModelFolderException(
          dir + " has no tokenizer.json; the text encoder needs the checkpoint's tokenizer");
    }
    String pad = padToken(dir.resolve("tokenizer_config.json"));
    HuggingFaceTokenizer t;
    try {
      t =
          HuggingFaceTokenizer.newInstance(
              json,
              Map.of(
                  "addSpecialTokens", "false",
                  "truncation", "false",
                  "padding", "false"));
    } catch (IOException | RuntimeException e) {
      throw new ModelFolderException(json + ": the tokenizers library cannot read it: " + e, e);
    }
    return new QwenTokenizer(t, json, pad);
  }

  @SuppressWarnings("unchecked")
  private static String padToken(Path config) {
    if (!Files.isRegularFile(config)) {
      return DEFAULT_PAD;
    }
    try {
      Object o = Json.parse(Files.readString(config, StandardCharsets.UTF_8));
      if (o instanceof Map<?, ?> m) {
        Object p = ((Map<String, Object>) m).get("pad_token");
        if (p instanceof String s) {
          return s;
        }
        if (p instanceof Map<?, ?> added && added.get("content") instanceof String s) {
          return s;
        }
      }
      return DEFAULT_PAD;
    } catch (IOException | IllegalArgumentException e) {
      throw new ModelFolderException(config + " is not readable JSON: " + e.getMessage(), e);
    }
  }

  /** The ids of {@code text} (added tokens such as {@code <|im_start|>} recognised). */
  public int[] encode(String text) {
    Encoding e = tokenizer.encode(text, false, false);
    long[] ids = e.getIds();
    int[] out = new int[ids.length];
    for (int i = 0; i < ids.length; i++) {
      out[i] = Math.toIntExact(ids[i]);
    }
    return out;
  }

  /** The text of ids (special tokens kept). */
  public String decode(int[] ids) {
    long[] l = new long[ids.length];
    for (int i = 0; i < ids.length; i++) {
      l[i] = ids[i];
    }
    return tokenizer.decode(l, false);
  }

  /** The padding id. */
  public int padId() {
    return padId;
  }

  /** The {@code tokenizer.json} read. */
  public Path file() {
    return file;
  }

  @Override
  public void close() {
    tokenizer.close();
  }
}
