import Foundation
public import Logging
import Metrics
import Prometheus
public import SightlineModel

/// Sets up a process's metrics: swift-metrics bootstrapped onto a Prometheus registry, and
/// the endpoint that serves it, with the gauges read at scrape time (resident memory, the
/// size of each tenant's data of this component).
public enum ProcessMetrics {
  /// Bootstraps swift-metrics (once per process) and returns the endpoint for
  /// `configuration.prometheusListen`, or nil when metrics are not served. Tenant sizes come
  /// from `databaseSizes`, or else from the component's database files under
  /// `dataDirectory`.
  public static func endpoint(
    for component: SuiteComponent, dataDirectory: String, listen: HostAndPort?,
    databaseSizes: (any DatabaseSizeReporting)? = nil, logger: Logger
  ) -> PrometheusEndpoint? {
    guard let listen else { return nil }
    let registry = PrometheusCollectorRegistry()
    MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: registry))
    return PrometheusEndpoint(address: listen, registry: registry, logger: logger) {
      if let resident = residentBytes() { Gauge(label: "sightline_process_resident_bytes").record(resident) }
      if let files = openFiles() { Gauge(label: "sightline_process_open_files").record(files) }
      let sizes = databaseSizes?.databaseBytes() ?? databaseBytes(dataDirectory: dataDirectory, component: component)
      for (tenant, bytes) in sizes {
        TenantSeries.databaseBytes(tenant).record(bytes)
      }
    }
  }

  /// Resident memory (VmRSS from /proc, Linux) of `pid`, this process by default; bytes.
  public static func residentBytes(pid: Int32? = nil) -> Int? {
    guard let status = try? String(contentsOfFile: "/proc/\(pid.map(String.init) ?? "self")/status", encoding: .utf8),
      let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS:") }),
      let kib = Int(line.split(separator: " ").dropFirst().first ?? "")
    else { return nil }
    return kib * 1024
  }

  /// Open file descriptors (entries of /proc/PID/fd, Linux) of `pid`, this process by default.
  public static func openFiles(pid: Int32? = nil) -> Int? {
    (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid.map(String.init) ?? "self")/fd"))?.count
  }

  /// Threads (entries of /proc/PID/task, Linux) of `pid`, this process by default.
  public static func threads(pid: Int32? = nil) -> Int? {
    (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid.map(String.init) ?? "self")/task"))?.count
  }

  /// Bytes of each tenant's database of `component` (the file and its WAL); the gateway's
  /// own database under the tenant name "-".
  static func databaseBytes(dataDirectory: String, component: SuiteComponent) -> [(tenant: String, bytes: Int)] {
    func size(_ path: String) -> Int {
      [path, path + "-wal"].reduce(0) { total, file in
        total + ((try? FileManager.default.attributesOfItem(atPath: file)[.size] as? Int) ?? 0)
      }
    }
    if component == .gateway { return [("-", size("\(dataDirectory)/gateway/gateway.sqlite"))] }
    let tenants = (try? FileManager.default.contentsOfDirectory(atPath: "\(dataDirectory)/tenants")) ?? []
    return tenants.sorted().compactMap { tenant in
      let path = "\(dataDirectory)/tenants/\(tenant)/\(component.rawValue).sqlite"
      return FileManager.default.fileExists(atPath: path) ? (tenant, size(path)) : nil
    }
  }
}
