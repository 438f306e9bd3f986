package dev.reelflow.orchestrator;

/** One OpenLineage RunEvent as JSON, keyed by request id on render.lineage. */
public class LineageRecord {
  public String requestId;
  public String eventType;
  public String json;

  public LineageRecord() {}

  LineageRecord(String requestId, String eventType, String json) {
    this.requestId = requestId;
    this.eventType = eventType;
    this.json = json;
  }
}
