package dev.reelflow.stack;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;

class ClusterMainTest {
  @Test
  void localJsonIsFlattenedToDottedKeys() throws Exception {
    var json =
        new ObjectMapper()
            .readTree(
                "{\"schemaRegistry\":{\"url\":\"http://r\"},"
                    + "\"s3\":{\"endpoint\":\"http://s\",\"bucket\":\"b\"},\"workDir\":\"/w\"}");
    assertThat(ClusterMain.flatten(json))
        .containsEntry("schemaRegistry.url", "http://r")
        .containsEntry("s3.endpoint", "http://s")
        .containsEntry("s3.bucket", "b")
        .containsEntry("workDir", "/w")
        .hasSize(4);
  }

  @Test
  void eachWorkerJvmGetsItsOwnGpu() {
    assertThat(ClusterMain.workerBackend("cuda", 1)).isEqualTo("cuda:0");
    assertThat(ClusterMain.workerBackend("cuda:2", 3)).isEqualTo("cuda:4");
    assertThat(ClusterMain.workerBackend("torch", 3)).isEqualTo("torch");
    assertThat(ClusterMain.workerBackend("cpu", 2)).isEqualTo("cpu");
  }

  @Test
  void servicesOfLocalStackMainAreChecked() {
    assertThat(LocalStackMain.services("registry, s3")).containsExactly("registry", "s3");
    assertThatThrownBy(() -> LocalStackMain.services("registry,zookeeper"))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("zookeeper");
  }

  @Test
  void anExternalClusterReplacesTheEmbeddedBroker() {
    LocalStack registryOnly =
        LocalStack.builder().externalKafka("127.0.0.1:1,127.0.0.1:2").registry().build();
    try {
      assertThat(registryOnly.hasKafka()).isFalse();
      assertThat(registryOnly.hasRegistry()).isTrue();
      assertThat(registryOnly.bootstrapServers()).isEqualTo("127.0.0.1:1,127.0.0.1:2");
      assertThat(registryOnly.info().get("kafka.bootstrapServers"))
          .isEqualTo("127.0.0.1:1,127.0.0.1:2");
    } finally {
      registryOnly.close();
    }
    // Without one, the registry still brings its embedded broker (the local default).
    LocalStack local = LocalStack.builder().registry().build();
    try {
      assertThat(local.hasKafka()).isTrue();
    } finally {
      local.close();
    }
    assertThatThrownBy(() -> LocalStack.builder().kafka().externalKafka("127.0.0.1:1").build())
        .isInstanceOf(IllegalStateException.class);
  }
}
