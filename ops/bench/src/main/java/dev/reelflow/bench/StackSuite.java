package dev.reelflow.bench;

import dev.reelflow.stack.LocalStack;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * {@code stack}: how long the embedded local stack (Kafka broker, schema registry, S3 endpoint)
 * takes to start, against the Kafka broker alone started the same way in the same run (the part
 * every start needs); and a restart on an existing work directory against a start on a fresh one.
 * The first start of the JVM (class loading) is a warm-up and is not counted.
 */
public final class StackSuite implements BenchSuite {

  @Override
  public String name() {
    return "stack";
  }

  @Override
  public String description() {
    return "embedded stack start-up (Kafka, registry, S3) vs the Kafka broker alone; restart vs"
        + " a fresh start";
  }

  @Override
  public SuiteResult run(BenchContext ctx) throws Exception {
    SuiteResult.Builder out =
        new SuiteResult.Builder(name())
            .parameter("services", "Kafka (KRaft), schema registry, S3 endpoint")
            .parameter("warmupStarts", 1)
            .note("each start is timed from LocalStack.start() until every service answers");
    Figure.Builder whole =
        new Figure.Builder(
            "stack start, fresh work dir (Kafka, registry, S3)",
            "ms",
            "Kafka broker alone, fresh work dir",
            Figure.BaselineKind.MEASURED);
    Figure.Builder restart =
        new Figure.Builder(
            "stack restart on its existing work dir",
            "ms",
            "stack start, fresh work dir",
            Figure.BaselineKind.MEASURED);
    Figure.Builder close =
        new Figure.Builder(
            "stack close", "ms", "Kafka broker alone, close", Figure.BaselineKind.MEASURED);
    ctx.progress().step("warm-up start (class loading; not counted)");
    Path warm = Files.createDirectories(ctx.workDir().resolve("warm"));
    timeStart(warm, true).close();
    for (int rep = 0; rep < ctx.repetitions(); rep++) {
      ctx.progress().bar("repetitions", rep, ctx.repetitions());
      Path kafkaDir = Files.createDirectories(ctx.workDir().resolve("kafka-" + rep));
      Timed kafka = timeStart(kafkaDir, false);
      long kafkaClose = kafka.close();
      Path dir = Files.createDirectories(ctx.workDir().resolve("stack-" + rep));
      Timed fresh = timeStart(dir, true);
      long freshClose = fresh.close();
      Timed again = timeStart(dir, true);
      again.close();
      whole.add(fresh.startMillis(), kafka.startMillis());
      restart.add(again.startMillis(), fresh.startMillis());
      close.add(freshClose, kafkaClose);
    }
    ctx.progress().bar("repetitions", ctx.repetitions(), ctx.repetitions());
    return out.figure(whole).figure(restart).figure(close).build();
  }

  private record Timed(LocalStack stack, long startMillis) {
    long close() {
      long t0 = System.nanoTime();
      stack.close();
      return (System.nanoTime() - t0) / 1_000_000;
    }
  }

  private static Timed timeStart(Path workDir, boolean everything) {
    LocalStack.Builder b = LocalStack.builder().workDir(workDir).kafka();
    if (everything) {
      b.registry().s3();
    }
    LocalStack stack = b.build();
    long t0 = System.nanoTime();
    stack.start();
    return new Timed(stack, (System.nanoTime() - t0) / 1_000_000);
  }
}
