package dev.reelflow.bench;

import java.io.IOException;
import java.io.InputStream;
import java.lang.management.ManagementFactory;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Properties;

/**
 * The machine and build a run measured on: cores, memory, OS, Java, and the versions of ReelFlow
 * and its engines, recorded in every result file.
 */
public record Machine(
    int cores,
    long physicalMemoryBytes,
    long maxHeapBytes,
    String os,
    String arch,
    String java,
    String javaVendor,
    Map<String, String> versions) {

  /** This JVM's machine and build. */
  public static Machine current() {
    long physical = -1;
    if (ManagementFactory.getOperatingSystemMXBean()
        instanceof com.sun.management.OperatingSystemMXBean os) {
      physical = os.getTotalMemorySize();
    }
    return new Machine(
        Runtime.getRuntime().availableProcessors(),
        physical,
        Runtime.getRuntime().maxMemory(),
        System.getProperty("os.name") + " " + System.getProperty("os.version"),
        System.getProperty("os.arch"),
        System.getProperty("java.version"),
        System.getProperty("java.vm.name") + " (" + System.getProperty("java.vendor") + ")",
        buildVersions());
  }

  private static Map<String, String> buildVersions() {
    Map<String, String> v = new LinkedHashMap<>();
    try (InputStream in = Machine.class.getResourceAsStream("versions.properties")) {
      if (in != null) {
        Properties p = new Properties();
        p.load(in);
        p.stringPropertyNames().stream().sorted().forEach(k -> v.put(k, p.getProperty(k)));
      }
    } catch (IOException e) {
      v.put("error", "versions.properties unreadable: " + e.getMessage());
    }
    return v;
  }
}
