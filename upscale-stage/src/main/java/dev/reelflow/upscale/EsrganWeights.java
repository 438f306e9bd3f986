package dev.reelflow.upscale;

import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The UpscalerJS ESRGAN weight sets this engine knows. esrgan-slim (1 MB per scale) is committed
 * inside this module; esrgan-thick (29 MB per scale, too large for the repository) is fetched by
 * the build into the module's classes (see upscale-stage/pom.xml), both with their MIT licence next
 * to the weights. Either can also be read from a directory holding the npm package's {@code
 * models/x{n}} folders.
 */
public enum EsrganWeights {
  /** {@code @upscalerjs/esrgan-slim} 1.0.0: RDN C1 D2 G4 G0=64, input/output [0, 255]. */
  SLIM("esrgan-slim", "@upscalerjs/esrgan-slim@1.0.0", 255f, "dev/reelflow/upscale/esrgan-slim"),
  /**
   * {@code @upscalerjs/esrgan-thick} 1.0.0: RRDN C4 D3 G32 G0=64, input/output [0, 1]. Beats
   * bicubic on natural photos (QualityTest); about 30 times slim's compute.
   */
  THICK("esrgan-thick", "@upscalerjs/esrgan-thick@1.0.0", 1f, "dev/reelflow/upscale/esrgan-thick");

  private final String id;
  private final String npmPackage;
  private final float inputRange;
  private final String classpathFolder;

  EsrganWeights(String id, String npmPackage, float inputRange, String classpathFolder) {
    this.id = id;
    this.npmPackage = npmPackage;
    this.inputRange = inputRange;
    this.classpathFolder = classpathFolder;
  }

  public String id() {
    return id;
  }

  public String npmPackage() {
    return npmPackage;
  }

  float inputRange() {
    return inputRange;
  }

  /** True when this build carries the weights on the class path (all of x2, x3, x4 and x8). */
  public boolean bundled() {
    ClassLoader cl = EsrganWeights.class.getClassLoader();
    for (int s : new int[] {2, 3, 4, 8}) {
      if (cl.getResource(classpathFolder + "/x" + s + "/model.json") == null) {
        return false;
      }
    }
    return true;
  }

  /**
   * The model folder for one scale: under {@code modelsDir} ({@code modelsDir/x2/model.json}) when
   * given, else the bundled copy.
   */
  ModelSource source(int scale, Path modelsDir) {
    if (modelsDir != null) {
      Path dir = modelsDir.resolve("x" + scale);
      if (!Files.isRegularFile(dir.resolve("model.json"))) {
        throw new ModelFormatException(
            dir
                + " holds no model.json: point the engine at the 'models' folder of the npm "
                + "package "
                + npmPackage
                + " (it contains x2, x3, x4, x8)");
      }
      return ModelSource.directory(dir);
    }
    if (!bundled()) {
      throw new ModelFormatException(
          id
              + " weights are not in this build (the build fetches them with npm; it printed why"
              + " it could not): build with npm available, or set a models directory holding the"
              + " 'models' folder of the npm package "
              + npmPackage);
    }
    return ModelSource.classpath(classpathFolder + "/x" + scale);
  }
}
