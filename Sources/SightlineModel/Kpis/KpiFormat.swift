/// How KPI values read for people: shares as percentages, times as durations, NPS in
/// points, counts as integers, mean scores with two decimals.
public enum KpiFormat {
  /// `value` of `kpi` for display.
  public static func value(_ value: Double, _ kpi: KpiKind) -> String {
    if kpi.isRate { return percent(value) }
    switch kpi {
    case .firstResponseTime, .resolutionTime: return duration(seconds: value)
    case .nps: return fixed(value, digits: 1)
    case .ces: return fixed(value, digits: 2)
    default: return String(Int64(value.rounded()))
    }
  }

  /// A change of `kpi` with its sign: shares in percentage points ("-3.2 pts"), times as
  /// signed durations, the rest like ``value(_:_:)``.
  public static func change(_ delta: Double, _ kpi: KpiKind) -> String {
    let sign = delta < 0 ? "-" : "+"
    if kpi.isRate { return sign + fixed(abs(delta) * 100, digits: 1) + " pts" }
    switch kpi {
    case .firstResponseTime, .resolutionTime: return sign + duration(seconds: abs(delta))
    case .nps: return sign + fixed(abs(delta), digits: 1)
    case .ces: return sign + fixed(abs(delta), digits: 2)
    default: return sign + String(Int64(abs(delta).rounded()))
    }
  }

  /// A share as a percentage with one decimal ("12.5%").
  public static func percent(_ share: Double) -> String { fixed(share * 100, digits: 1) + "%" }

  /// A duration in the two largest units ("45s", "12m 30s", "3h 05m", "2d 4h").
  public static func duration(seconds: Double) -> String {
    let total = Int64(seconds.rounded())
    if total < 60 { return "\(total)s" }
    if total < 3_600 { return "\(total / 60)m \(pad(total % 60))s" }
    if total < 86_400 { return "\(total / 3_600)h \(pad(total % 3_600 / 60))m" }
    return "\(total / 86_400)d \(total % 86_400 / 3_600)h"
  }

  /// `value` with exactly `digits` decimals, without Foundation.
  public static func fixed(_ value: Double, digits: Int) -> String {
    guard value.isFinite else { return "\(value)" }
    var scale = 1.0
    for _ in 0..<digits { scale *= 10 }
    let scaled = Int64((abs(value) * scale).rounded())
    let whole = scaled / Int64(scale)
    let fraction = scaled % Int64(scale)
    var text = "\(value < 0 && scaled != 0 ? "-" : "")\(whole)"
    if digits > 0 {
      let digitsText = String(fraction)
      text += "." + String(repeating: "0", count: digits - digitsText.count) + digitsText
    }
    return text
  }

  private static func pad(_ number: Int64) -> String { number < 10 ? "0\(number)" : "\(number)" }
}
