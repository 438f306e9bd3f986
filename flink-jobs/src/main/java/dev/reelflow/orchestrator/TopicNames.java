package dev.reelflow.orchestrator;

/**
 * Topic names of the shared catalogue (ARCHITECTURE.md, "Event flow and topics") that this job
 * reads and writes.
 */
final class TopicNames {
  static final String REQUESTS = "render.requests";
  static final String COMMANDS = "render.commands";
  static final String TASKS_BASE = "render.tasks.base";
  static final String TASKS_UPSCALE = "render.tasks.upscale";
  static final String STAGE_EVENTS = "render.stage-events";
  static final String WORKER_EVENTS = "render.worker-events";
  static final String STATUS = "render.status";
  static final String LINEAGE = "render.lineage";
  static final String DLQ = "render.dlq";
  static final String SCHEDULES = "render.schedules";

  private TopicNames() {}
}
