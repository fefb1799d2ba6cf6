import Foundation
import SightlineModel
import SightlineRPC
import SightlineWire

/// `experiment evaluate --chart`: each primary metric's treated and control values over
/// time, drawn in the terminal, with the rollout marked and the pre-period balance said,
/// so that a verdict is read beside the picture it rests on.
enum ArmChart {
  /// Rows of the plot.
  static let height = 10
  /// A bucket with fewer observations than this is drawn in lower case (t, c): its value
  /// moves with a handful of tickets.
  static let smallSample: Int64 = 10

  /// The chart of `series` for the metric at `index` of the primary metrics, the rollout at
  /// `startMs`, dates in `zone`; `balanceP` is the pre-period balance test's p-value.
  static func render(
    _ series: Sightline_Experiments_V1_ArmSeries, startMs: Int64, balanceP: Double?, zone: TimeZone
  ) -> String {
    guard let kind = WireNames.model(series.kpi) else { return "" }
    let unit = series.interval == .week ? "week" : "day"
    var lines = [
      "\(kind.rawValue): treated (T) and control (C) by \(unit); │ the rollout, \(LocalTime.date(milliseconds: startMs, zone: zone))"
    ]
    let points = series.points
    let values = points.flatMap { point in
      (point.treatmentN > 0 ? [point.treatment] : []) + (point.controlN > 0 ? [point.control] : [])
    }
    guard let low = values.min(), let high = values.max(), !points.isEmpty else {
      return (lines + ["  (no data in either arm)"]).joined(separator: "\n")
    }
    let span = high > low ? high - low : 1
    func row(_ value: Double) -> Int { Int(((high - value) / span * Double(height - 1)).rounded()) }
    let rollout = points.firstIndex { $0.start.unixMilliseconds >= startMs } ?? points.count
    var grid = Array(repeating: Array(repeating: Character(" "), count: points.count), count: height)
    if rollout < points.count { for r in 0..<height { grid[r][rollout] = "│" } }
    for (column, point) in points.enumerated() {
      let treated = point.treatmentN > 0 ? row(point.treatment) : nil
      let control = point.controlN > 0 ? row(point.control) : nil
      if let treated { grid[treated][column] = point.treatmentN < smallSample ? "t" : "T" }
      if let control { grid[control][column] = control == treated ? "*" : point.controlN < smallSample ? "c" : "C" }
    }
    let labels = [KpiFormat.value(high, kind), KpiFormat.value(low, kind)]
    let margin = labels.map(\.count).max()!
    for (index, cells) in grid.enumerated() {
      let label = index == 0 ? labels[0] : index == height - 1 ? labels[1] : ""
      lines.append(String(repeating: " ", count: margin - label.count) + label + " ┤" + String(cells))
    }
    lines.append(String(repeating: " ", count: margin) + " └" + String(repeating: "─", count: points.count))
    // First, rollout and last dates under the axis, where they fit.
    var axis = Array(repeating: Character(" "), count: points.count + 12)
    for column in Set([0, min(rollout, points.count - 1), points.count - 1]).sorted() {
      let text = Array(String(LocalTime.date(milliseconds: points[column].start.unixMilliseconds, zone: zone).dropFirst(5)))
      guard column + text.count <= axis.count, axis[column..<(column + text.count)].allSatisfy({ $0 == " " }) else { continue }
      axis.replaceSubrange(column..<(column + text.count), with: text)
    }
    while axis.last == " " { axis.removeLast() }
    lines.append(String(repeating: " ", count: margin + 2) + String(axis))
    lines.append("  * both arms on the same row; t, c: fewer than \(smallSample) observations in the \(unit)")
    if let balanceP {
      lines.append(
        balanceP < 0.05
          ? "  before the rollout the arms differed (balance p = \(KpiFormat.fixed(balanceP, digits: 3))): read the effect with care"
          : "  before the rollout the arms were alike (balance p = \(KpiFormat.fixed(balanceP, digits: 3)))")
    }
    return lines.joined(separator: "\n")
  }
}
