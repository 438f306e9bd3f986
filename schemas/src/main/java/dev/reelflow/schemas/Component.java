package dev.reelflow.schemas;

/**
 * The processes that write and read ReelFlow's topics, as the topic catalogue ({@link Topic}) and
 * the AsyncAPI document ({@link AsyncApiDocument}) name them.
 */
public enum Component {
  /** The HTTP API (module ingest). */
  INGEST("ingest", "the HTTP API (module ingest)"),
  /** The Flink job that orchestrates every render (module flink-jobs). */
  ORCHESTRATOR("orchestrator", "the Flink job that orchestrates every render (module flink-jobs)"),
  /** The base-video worker pool (module gpu-operator). */
  BASE_WORKERS("base-workers", "the base-video worker pool (module gpu-operator)"),
  /** The 1080p super-resolution worker pool (module upscale-stage). */
  UPSCALE_WORKERS(
      "upscale-workers", "the 1080p super-resolution worker pool (module upscale-stage)"),
  /** Services outside ReelFlow that follow renders: status, lineage, dead letters. */
  DOWNSTREAM("downstream", "services outside ReelFlow that follow renders (see the README)");

  private final String id;
  private final String description;

  Component(String id, String description) {
    this.id = id;
    this.description = description;
  }

  /** Short lower-case name, e.g. {@code base-workers}. */
  public String id() {
    return id;
  }

  /** One line saying what the process is. */
  public String description() {
    return description;
  }
}
