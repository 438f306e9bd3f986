package dev.reelflow.upscale;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;

/** Where the files of one TF.js layers model live: a classpath folder or a directory. */
abstract class ModelSource {

  /** Human-readable location, used in every error message. */
  abstract String describe();

  /** Reads one file of the model folder (model.json or a shard). */
  abstract byte[] read(String file) throws IOException;

  static ModelSource classpath(String folder) {
    String base = folder.endsWith("/") ? folder : folder + "/";
    return new ModelSource() {
      @Override
      String describe() {
        return "classpath:" + base;
      }

      @Override
      byte[] read(String file) throws IOException {
        try (InputStream in = ModelSource.class.getClassLoader().getResourceAsStream(base + file)) {
          if (in == null) {
            throw new NoSuchFileException("classpath:" + base + file);
          }
          return in.readAllBytes();
        }
      }
    };
  }

  static ModelSource directory(Path dir) {
    return new ModelSource() {
      @Override
      String describe() {
        return dir.toString();
      }

      @Override
      byte[] read(String file) throws IOException {
        return Files.readAllBytes(dir.resolve(file));
      }
    };
  }
}
