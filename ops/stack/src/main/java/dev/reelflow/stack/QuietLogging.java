package dev.reelflow.stack;

import java.util.Map;
import org.slf4j.ILoggerFactory;
import org.slf4j.LoggerFactory;

/**
 * S3Proxy brings Logback onto the classpath, and unconfigured Logback logs everything at DEBUG:
 * Kafka alone then writes thousands of lines a second. When nobody configured Logback (no
 * logback-test.xml, logback.xml or {@code logback.configurationFile}), this sets sensible levels
 * for the embedded services: INFO for ReelFlow, WARN for Kafka, Jetty and S3Proxy. A project's own
 * configuration always wins.
 */
final class QuietLogging {
  private static final Map<String, String> LEVELS =
      Map.of(
          "ROOT", "INFO",
          "org.apache.kafka", "WARN",
          "kafka", "WARN",
          "state.change.logger", "WARN",
          "org.eclipse.jetty", "WARN",
          "org.gaul", "WARN",
          "io.netty", "WARN");
  private static volatile boolean applied;

  private QuietLogging() {}

  static void applyIfUnconfigured() {
    if (applied) {
      return;
    }
    applied = true;
    ILoggerFactory factory = LoggerFactory.getILoggerFactory();
    if (!factory.getClass().getName().equals("ch.qos.logback.classic.LoggerContext")
        || System.getProperty("logback.configurationFile") != null) {
      return;
    }
    ClassLoader cl = QuietLogging.class.getClassLoader();
    for (String file : new String[] {"logback-test.xml", "logback.xml", "logback.groovy"}) {
      if (cl.getResource(file) != null) {
        return;
      }
    }
    try {
      // Reflection keeps Logback a runtime-only dependency of this module.
      Class<?> levelClass = Class.forName("ch.qos.logback.classic.Level", true, cl);
      for (Map.Entry<String, String> e : LEVELS.entrySet()) {
        Object logger = factory.getLogger(e.getKey());
        Object level = levelClass.getField(e.getValue()).get(null);
        logger.getClass().getMethod("setLevel", levelClass).invoke(logger, level);
      }
    } catch (ReflectiveOperationException | RuntimeException e) {
      LoggerFactory.getLogger(QuietLogging.class)
          .warn("Could not set default log levels for the local stack: {}", e.toString());
    }
  }
}
