package dev.reelflow.ingest;

import dev.reelflow.schemas.avro.Schedule;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;

/** The materialized view of the compacted render.schedules topic: live schedules by id. */
final class ScheduleView {
  private final Map<String, Schedule> byId = new ConcurrentHashMap<>();

  void apply(String scheduleId, Schedule s) {
    if (s == null || s.getDeleted()) {
      byId.remove(scheduleId);
    } else {
      byId.merge(
          scheduleId, s, (old, neu) -> old.getUpdatedAt().isAfter(neu.getUpdatedAt()) ? old : neu);
    }
  }

  Optional<Schedule> get(String tenant, String scheduleId) {
    Schedule s = byId.get(scheduleId);
    return s != null && s.getTenant().equals(tenant) ? Optional.of(s) : Optional.empty();
  }

  List<Schedule> list(String tenant) {
    return byId.values().stream()
        .filter(s -> s.getTenant().equals(tenant))
        .sorted(java.util.Comparator.comparing(Schedule::getScheduleId))
        .toList();
  }
}
