package dev.reelflow.stack;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class FlinkSessionProcessesTest {
  @TempDir Path dir;

  @Test
  void everyTaskManagerMemoryComponentIsExplicitSoNoBashJavaUtilsStepIsNeeded() {
    Map<String, String> c =
        FlinkSessionProcesses.builder(dir).slots(3).taskHeapMb(200).build().configuration();
    for (String key :
        new String[] {
          "taskmanager.memory.framework.heap.size",
          "taskmanager.memory.task.heap.size",
          "taskmanager.memory.framework.off-heap.size",
          "taskmanager.memory.task.off-heap.size",
          "taskmanager.memory.network.min",
          "taskmanager.memory.network.max",
          "taskmanager.memory.managed.size",
          "taskmanager.memory.jvm-metaspace.size"
        }) {
      assertThat(c).as(key).containsKey(key);
    }
    assertThat(c.get("taskmanager.memory.task.heap.size")).isEqualTo("200m");
    assertThat(c.get("taskmanager.memory.network.min"))
        .isEqualTo(c.get("taskmanager.memory.network.max"));
    assertThat(c.get("taskmanager.numberOfTaskSlots")).isEqualTo("3");
    assertThat(c.get("taskmanager.cpu.cores")).isEqualTo("3");
    assertThat(c.get("rest.port")).isNotEqualTo(c.get("jobmanager.rpc.port"));
  }

  @Test
  void restUrlNamesTheConfiguredPortAndOverridesWin() {
    FlinkSessionProcesses f =
        FlinkSessionProcesses.builder(dir).property("parallelism.default", "4").build();
    assertThat(f.restUrl()).isEqualTo("http://127.0.0.1:" + f.configuration().get("rest.port"));
    assertThat(f.configuration().get("parallelism.default")).isEqualTo("4");
  }

  @Test
  void badOptionsAreRefused() {
    assertThatThrownBy(() -> FlinkSessionProcesses.builder(dir).taskManagers(0))
        .isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> FlinkSessionProcesses.builder(dir).slots(0))
        .isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> FlinkSessionProcesses.builder(dir).taskHeapMb(10))
        .isInstanceOf(IllegalArgumentException.class);
  }
}
