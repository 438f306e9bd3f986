package dev.reelflow.storage.input;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.net.InetAddress;
import java.net.URI;
import java.util.List;
import org.junit.jupiter.api.Test;

class AddressPolicyTest {
  private static InetAddress ip(String s) throws Exception {
    return InetAddress.getByName(s); // literals only: no lookup
  }

  @Test
  void nonPublicAddressesAreRefusedWithTheirKind() throws Exception {
    AddressPolicy p = AddressPolicy.strict();
    String[][] cases = {
      {"127.0.0.1", "loopback"},
      {"127.255.1.2", "loopback"},
      {"10.20.30.40", "private"},
      {"172.16.0.1", "private"},
      {"172.31.255.255", "private"},
      {"192.168.1.1", "private"},
      {"169.254.169.254", "cloud metadata"},
      {"100.64.0.1", "carrier-grade NAT"},
      {"0.0.0.0", "unspecified"},
      {"224.0.0.1", "multicast"},
      {"255.255.255.255", "broadcast"},
      {"192.0.2.7", "reserved"},
      {"198.18.0.1", "benchmarking"},
      {"203.0.113.9", "documentation"},
      {"::1", "loopback"},
      {"::", "unspecified"},
      {"fe80::1", "link-local"},
      {"fd00:ec2::254", "unique local"},
      {"fc00::5", "unique local"},
      {"ff02::1", "multicast"},
      {"::ffff:127.0.0.1", "loopback"},
      {"::ffff:169.254.169.254", "link-local"},
      {"64:ff9b::a00:1", "NAT64"},
      {"2002:7f00:1::", "6to4"},
      {"2001:0:4136:e378::1", "Teredo"},
      {"2001:db8::1", "documentation"},
    };
    for (String[] c : cases) {
      assertThat(p.check(ip(c[0]))).as(c[0]).hasValueSatisfying(w -> assertThat(w).contains(c[1]));
    }
    for (String ok :
        new String[] {
          "8.8.8.8", "1.1.1.1", "172.32.0.1", "100.128.0.1", "2606:4700::1111", "::ffff:8.8.8.8"
        }) {
      assertThat(p.check(ip(ok))).as(ok).isEmpty();
    }
  }

  @Test
  void urlsAreCheckedWithoutDns() {
    AddressPolicy p = AddressPolicy.strict();
    assertThat(p.checkUrl(URI.create("https://images.example.com/a.png"))).isEmpty();
    assertThat(p.checkUrl(URI.create("http://images.example.com/a.png")))
        .hasValueSatisfying(w -> assertThat(w).contains("https"));
    assertThat(p.checkUrl(URI.create("ftp://x.example/a.png"))).isPresent();
    assertThat(p.checkUrl(URI.create("https://user:pw@images.example.com/a.png")))
        .hasValueSatisfying(w -> assertThat(w).contains("user info"));
    assertThat(p.checkUrl(URI.create("https://127.0.0.1:8443/a.png")))
        .hasValueSatisfying(w -> assertThat(w).contains("loopback"));
    assertThat(p.checkUrl(URI.create("https://[::1]/a.png")))
        .hasValueSatisfying(w -> assertThat(w).contains("loopback"));
    assertThat(p.checkUrl(URI.create("https://169.254.169.254/latest/meta-data/")))
        .hasValueSatisfying(w -> assertThat(w).contains("metadata"));
    assertThat(p.checkUrl(URI.create("https://localhost/a.png"))).isPresent();
    assertThat(p.checkUrl(URI.create("https://api.LOCALHOST./a.png"))).isPresent();
    // numbers a resolver reads as 127.0.0.1 (java.net.URI finds no host in most of them)
    for (String odd : new String[] {"2130706433", "0x7f.0.0.1", "0177.0.0.1", "127.1"}) {
      assertThat(p.checkUrl(URI.create("https://" + odd + "/a.png"))).as(odd).isPresent();
      assertThat(p.checkHostName(odd))
          .as(odd)
          .hasValueSatisfying(w -> assertThat(w).contains("non-canonical"));
    }
  }

  @Test
  void operatorsAllowTheirTestServersAndDenyTheirOwnServices() throws Exception {
    AddressPolicy p =
        AddressPolicy.builder()
            .allowHttp(true)
            .allowAll("images.test, 127.0.0.0/8")
            .denyAll("s3.internal.example, 8.8.4.0/24")
            .build();
    assertThat(p.checkUrl(URI.create("http://127.0.0.1:9000/a.png"))).isEmpty();
    assertThat(p.check(ip("127.0.0.5"))).isEmpty();
    assertThat(p.check(ip("10.0.0.1"))).isPresent();
    assertThat(p.allowsHost("IMAGES.test")).isTrue();
    assertThat(p.checkUrl(URI.create("https://s3.internal.example/bucket/a.png")))
        .hasValueSatisfying(w -> assertThat(w).contains("pipeline's own services"));
    assertThat(p.check(ip("8.8.4.4")))
        .hasValueSatisfying(w -> assertThat(w).contains("8.8.4.0/24"));
    assertThat(p.check(ip("8.8.8.8"))).isEmpty();
    assertThatThrownBy(() -> AddressPolicy.builder().allow("10.0.0.0/40"))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("prefix");
  }

  @Test
  void thePipelinesOwnServicesAreDeniedFromTheirEndpoints() throws Exception {
    AddressPolicy p =
        AddressPolicy.builder()
            .allow("hooks.internal")
            .denyServices(
                "kafka-0.internal:9092, kafka-1.internal:9092,[fd00::7]:9092",
                "http://registry.internal:8081",
                "http://203.0.114.9:9000",
                "",
                "hooks.internal:443")
            .build();
    for (String url :
        List.of(
            "https://kafka-0.internal/x",
            "https://KAFKA-1.internal./x",
            "https://registry.internal/x",
            "https://203.0.114.9/x",
            "https://[fd00::7]/x")) {
      assertThat(p.checkUrl(URI.create(url))).as(url).isPresent();
    }
    assertThat(p.check(InetAddress.getByName("203.0.114.9"))).isPresent();
    // The operator's allow list wins over the service list.
    assertThat(p.checkUrl(URI.create("https://hooks.internal/x"))).isEmpty();
    assertThat(p.checkUrl(URI.create("https://example.com/x"))).isEmpty();
  }
}
