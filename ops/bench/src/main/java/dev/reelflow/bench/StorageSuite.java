package dev.reelflow.bench;

import dev.reelflow.stack.S3Endpoint;
import dev.reelflow.storage.ArtifactStore;
import dev.reelflow.storage.ObjectAttributes;
import java.io.IOException;
import java.io.OutputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Random;

/**
 * {@code storage}: upload throughput of {@link ArtifactStore#put} (16 MiB multipart parts, SHA-256
 * computed on the way) against a plain HTTP PUT of the same file to a presigned URL (one request,
 * java.net.http), on the same embedded S3 endpoint (S3Proxy, filesystem backend) in the same run.
 */
public final class StorageSuite implements BenchSuite {
  private static final long MIB = 1024 * 1024;

  @Override
  public String name() {
    return "storage";
  }

  @Override
  public String description() {
    return "ArtifactStore.put MiB/s vs a plain presigned PUT on the same S3 endpoint";
  }

  @Override
  public SuiteResult run(BenchContext ctx) throws Exception {
    List<Long> sizes =
        ctx.size().pick(List.of(2 * MIB), List.of(8 * MIB, 64 * MIB), List.of(8 * MIB, 256 * MIB));
    SuiteResult.Builder out =
        new SuiteResult.Builder(name())
            .parameter("sizesMiB", sizes.stream().map(s -> s / MIB).toList().toString())
            .parameter("partMiB", 16)
            .note(
                "embedded S3Proxy (filesystem backend) on this machine: the endpoint's own CPU and"
                    + " disk are part of both figures");
    ctx.progress().step("starting the embedded S3 endpoint");
    try (S3Endpoint s3 = S3Endpoint.builder(ctx.workDir().resolve("s3")).build()) {
      s3.start();
      HttpClient http = HttpClient.newHttpClient();
      for (long size : sizes) {
        Path file = randomFile(ctx.workDir().resolve("bench-" + size + ".bin"), size);
        for (int parallel : size > 16 * MIB ? new int[] {4, 1} : new int[] {4}) {
          Figure.Builder f =
              new Figure.Builder(
                  "ArtifactStore.put "
                      + size / MIB
                      + " MiB"
                      + (size > 16 * MIB ? ", parallelParts " + parallel : ""),
                  "MiB/s",
                  "plain presigned PUT of the same file",
                  Figure.BaselineKind.MEASURED);
          try (ArtifactStore store =
              ArtifactStore.builder()
                  .endpoint(s3.endpoint())
                  .credentials(s3.accessKey(), s3.secretKey())
                  .bucket(s3.bucket())
                  .parallelParts(parallel)
                  .build()) {
            Upload mine = () -> store.put("bench/store-" + size, file, ObjectAttributes.defaults());
            Upload plain =
                () -> {
                  URI url = store.presignPut("bench/plain-" + size, Duration.ofMinutes(10));
                  HttpResponse<String> r =
                      http.send(
                          HttpRequest.newBuilder(url)
                              .PUT(HttpRequest.BodyPublishers.ofFile(file))
                              .build(),
                          HttpResponse.BodyHandlers.ofString());
                  if (r.statusCode() != 200) {
                    throw new IOException("PUT answered " + r.statusCode() + ": " + r.body());
                  }
                };
            mine.run(); // warm-up: connections, JIT
            plain.run();
            for (int rep = 0; rep < ctx.repetitions(); rep++) {
              ctx.progress().bar(size / MIB + " MiB x" + parallel, rep, ctx.repetitions());
              double a = size / (double) MIB / seconds(mine);
              double b = size / (double) MIB / seconds(plain);
              f.add(a, b);
            }
            ctx.progress()
                .bar(size / MIB + " MiB x" + parallel, ctx.repetitions(), ctx.repetitions());
          }
          out.figure(f);
        }
        Files.delete(file);
      }
    }
    return out.build();
  }

  interface Upload {
    void run() throws Exception;
  }

  private static double seconds(Upload u) throws Exception {
    long t0 = System.nanoTime();
    u.run();
    return (System.nanoTime() - t0) / 1e9;
  }

  private static Path randomFile(Path path, long size) throws IOException {
    Random r = new Random(size);
    byte[] buf = new byte[(int) Math.min(size, MIB)];
    try (OutputStream out = Files.newOutputStream(path)) {
      for (long written = 0; written < size; written += buf.length) {
        r.nextBytes(buf);
        out.write(buf, 0, (int) Math.min(buf.length, size - written));
      }
    }
    return path;
  }
}
