package dev.reelflow.storage;

import dev.reelflow.stack.S3Endpoint;
import io.minio.MinioClient;
import io.minio.UploadObjectArgs;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Locale;

/**
 * Upload throughput of ArtifactStore against a plain HTTP PUT of the same bytes (a presigned PUT
 * URL, unsigned payload, one request, java.net.http) to the same endpoint, in one run. Not a test:
 * run it and read the table.
 *
 * <pre>
 * mvn -B -o -q -pl storage test-compile exec:java [-Dexec.args="runs8 runs256"]
 * </pre>
 *
 * Starts an embedded S3 endpoint (S3Proxy, filesystem backend) in a temporary directory, so the
 * figures include the endpoint's own CPU on the same machine.
 */
public final class StorageBenchmark {
  private static final long MIB = 1024 * 1024;

  private StorageBenchmark() {}

  public static void main(String[] args) throws Exception {
    int runsSmall = args.length > 0 ? Integer.parseInt(args[0]) : 5;
    int runsLarge = args.length > 1 ? Integer.parseInt(args[1]) : 3;
    Path work = Files.createTempDirectory("reelflow-storage-bench-");
    try (S3Endpoint s3 = S3Endpoint.builder(work).build()) {
      s3.start();
      System.out.printf(
          Locale.ROOT,
          "StorageBenchmark: endpoint %s (embedded S3Proxy), %d cores, java %s%n",
          s3.endpoint(),
          Runtime.getRuntime().availableProcessors(),
          System.getProperty("java.version"));
      System.out.println(
          "size     method                                        runs  median MiB/s  best MiB/s");
      for (long size : new long[] {8 * MIB, 256 * MIB}) {
        Path file = randomFile(work, size);
        int runs = size <= 8 * MIB ? runsSmall : runsLarge;
        for (int parallel : new int[] {4, 1}) {
          try (ArtifactStore store = store(s3, parallel)) {
            report(
                size,
                "ArtifactStore.put (16 MiB parts x" + parallel + ", sha256)",
                runs,
                () -> store.put("bench/store-" + size + ".bin", file, ObjectAttributes.defaults()));
          }
          if (size <= 16 * MIB) {
            break; // below the multipart threshold parallelism does not apply
          }
        }
        MinioClient sdk =
            MinioClient.builder()
                .endpoint(s3.endpoint())
                .credentials(s3.accessKey(), s3.secretKey())
                .region(s3.region())
                .build();
        report(
            size,
            "MinIO SDK uploadObject (16 MiB parts, serial)",
            runs,
            () ->
                sdk.uploadObject(
                    UploadObjectArgs.builder()
                        .bucket(s3.bucket())
                        .object("bench/sdk-" + size + ".bin")
                        .filename(file.toString(), 16 * MIB)
                        .build()));
        try (ArtifactStore store = store(s3, 4)) {
          HttpClient http = HttpClient.newHttpClient();
          report(
              size,
              "plain HTTP PUT (presigned, one request)",
              runs,
              () -> {
                URI url = store.presignPut("bench/plain-" + size + ".bin", Duration.ofMinutes(10));
                HttpResponse<String> r =
                    http.send(
                        HttpRequest.newBuilder(url)
                            .PUT(HttpRequest.BodyPublishers.ofFile(file))
                            .build(),
                        HttpResponse.BodyHandlers.ofString());
                if (r.statusCode() != 200) {
                  throw new IOException("PUT answered " + r.statusCode() + ": " + r.body());
                }
                return null;
              });
        }
        Files.delete(file);
      }
    } finally {
      deleteTree(work);
    }
  }

  private static ArtifactStore store(S3Endpoint s3, int parallel) {
    return ArtifactStore.builder()
        .endpoint(s3.endpoint())
        .credentials(s3.accessKey(), s3.secretKey())
        .bucket(s3.bucket())
        .parallelParts(parallel)
        .build();
  }

  interface Upload {
    Object run() throws Exception;
  }

  private static void report(long size, String method, int runs, Upload upload) throws Exception {
    upload.run(); // warm-up: connections, JIT
    List<Double> rates = new ArrayList<>();
    for (int i = 0; i < runs; i++) {
      long start = System.nanoTime();
      upload.run();
      double seconds = (System.nanoTime() - start) / 1e9;
      rates.add(size / (double) MIB / seconds);
    }
    Collections.sort(rates);
    System.out.printf(
        Locale.ROOT,
        "%-8s %-45s %4d  %12.1f  %10.1f%n",
        (size / MIB) + " MiB",
        method,
        runs,
        rates.get(rates.size() / 2),
        rates.get(rates.size() - 1));
  }

  private static Path randomFile(Path dir, long size) throws IOException {
    return TestFiles.randomFile(dir.resolve("bench-" + size + ".bin"), size, size);
  }

  private static void deleteTree(Path root) throws IOException {
    try (var paths = Files.walk(root)) {
      paths.sorted(Collections.reverseOrder()).forEach(p -> p.toFile().delete());
    }
  }
}
