import SightlineModel

/// Charts drawn on the server as inline SVG: no script, readable by screen readers (a
/// `<title>` and `<desc>` on each, and the numbers in a table beside them), scaled to the
/// page width by the viewBox.
enum Charts {
  /// One line of a line chart.
  struct Series {
    var name: String
    var points: [Double?]
    /// The sample behind each point, when known: shown in its hover title, and a point on
    /// fewer than ``Charts/smallSample`` is drawn hollow.
    var sizes: [Int64]? = nil
  }

  static let palette = ["#1f5fbf", "#c2410c", "#15803d", "#7e22ce", "#b45309", "#0e7490", "#be123c", "#4d7c0f"]
  /// The colour of the lines not picked out when there are too many to tell apart.
  static let others = "#b8bec8"
  /// Below this sample a point is hollow: read it with care.
  static let smallSample: Int64 = 30
  /// More lines than this: the highest and lowest three (by their mean) keep colours,
  /// the rest are drawn thin and grey behind them.
  static let distinctLines = 6

  /// A line chart of `series` over `labels` (x, e.g. dates), values formatted by `format`
  /// on the y axis. Gaps (nil) break the line. Every point has a hover title (series,
  /// period, value, n); points on small samples are hollow; the buckets in `partial` (a
  /// period cut by the range) are shaded and say so. With `marker`, a dashed vertical line
  /// at that label's index, named `markerName` (an experiment's rollout). Labels are
  /// anchored so that none runs past the chart's edge.
  static func line(
    title: String, description: String, labels: [String], series: [Series], format: (Double) -> String,
    marker: Int? = nil, markerName: String = "", partial: Set<Int> = [], partialName: String = "partial period",
    othersName: String = "others"
  ) -> String {
    let values = series.flatMap { $0.points.compactMap { $0 } }
    guard let low0 = values.min(), let high0 = values.max(), labels.count > 0 else {
      return ""
    }
    // A flat series gets a band around it; a non-negative one starts at zero when that
    // does not squash it (counts and shares read truer from zero).
    var (low, high) = (low0, high0)
    if low == high { (low, high) = (low - 1, high + 1) }
    if low > 0 && low < (high - low) { low = 0 }
    let ticks = (0...3).map { low + (high - low) * Double($0) / 3 }
    // Room on the left for the longest y label (11 px text: about 6.5 px a character).
    let longest = ticks.map { format($0).count }.max() ?? 4
    let width = 640.0, height = 220.0, right = 12.0, top = 12.0, bottom = 28.0
    let left = max(40, 6.5 * Double(longest) + 14)
    let plotWidth = width - left - right, plotHeight = height - top - bottom
    let step = labels.count == 1 ? plotWidth : plotWidth / Double(labels.count - 1)
    func x(_ index: Int) -> Double { left + (labels.count == 1 ? plotWidth / 2 : step * Double(index)) }
    func y(_ value: Double) -> Double { top + plotHeight * (1 - (value - low) / (high - low)) }
    var svg =
      "<svg class=\"chart\" viewBox=\"0 0 \(Int(width)) \(Int(height))\" role=\"img\" aria-labelledby=\"t\(id(title)) d\(id(title))\">"
    svg += "<title id=\"t\(id(title))\">\(HTML.escape(title))</title><desc id=\"d\(id(title))\">\(HTML.escape(description))</desc>"
    for index in partial.sorted() where labels.indices.contains(index) {
      let half = labels.count == 1 ? plotWidth / 2 : step / 2
      let from = max(left, x(index) - half), to = min(width - right, x(index) + half)
      svg +=
        "<rect class=\"partial\" data-partial=\"\(index)\" x=\"\(f(from))\" y=\"\(f(top))\" width=\"\(f(to - from))\" height=\"\(f(plotHeight))\">"
        + "<title>\(HTML.escape("\(labels[index]): \(partialName)"))</title></rect>"
    }
    // Y axis: four gridlines with labels.
    for value in ticks {
      let position = y(value)
      svg += "<line class=\"grid\" x1=\"\(f(left))\" x2=\"\(f(width - right))\" y1=\"\(f(position))\" y2=\"\(f(position))\"/>"
      svg += "<text class=\"axis\" x=\"\(f(left - 6))\" y=\"\(f(position + 4))\" text-anchor=\"end\">\(HTML.escape(format(value)))</text>"
    }
    // X axis: first, middle and last label; the first starts at its point and the last
    // ends at its point, so neither is cut at the edge.
    for index in Set([0, labels.count / 2, labels.count - 1]).sorted() {
      let anchor = labels.count == 1 ? "middle" : index == 0 ? "start" : index == labels.count - 1 ? "end" : "middle"
      svg +=
        "<text class=\"axis\" x=\"\(f(x(index)))\" y=\"\(f(height - 8))\" text-anchor=\"\(anchor)\">\(HTML.escape(labels[index]))</text>"
    }
    if let marker, labels.indices.contains(marker) {
      svg +=
        "<line class=\"marker\" data-marker=\"\(marker)\" x1=\"\(f(x(marker)))\" x2=\"\(f(x(marker)))\" y1=\"\(f(top))\" y2=\"\(f(height - bottom))\">"
        + "<title>\(HTML.escape(markerName))</title></line>"
    }
    let colours = colours(series)
    // Grey lines first, so the picked-out ones are drawn over them.
    for number in series.indices.sorted(by: { (colours[$0] == others ? 0 : 1) < (colours[$1] == others ? 0 : 1) }) {
      let line = series[number]
      let colour = colours[number]
      let faded = colour == others
      var path = ""
      var drawing = false
      for (index, point) in line.points.enumerated() {
        guard let point else { drawing = false; continue }
        path += (drawing ? "L" : "M") + "\(f(x(index))),\(f(y(point)))"
        drawing = true
      }
      svg +=
        "<path d=\"\(path)\" fill=\"none\" stroke=\"\(colour)\" stroke-width=\"\(faded ? "1.2" : "2")\"><title>\(HTML.escape(line.name))</title></path>"
      for (index, point) in line.points.enumerated() {
        guard let point, labels.indices.contains(index) else { continue }
        let size = line.sizes.flatMap { $0.indices.contains(index) ? $0[index] : nil }
        let small = size.map { $0 < smallSample } ?? false
        var tip = "\(line.name) · \(labels[index]): \(format(point))"
        if let size { tip += " (n=\(size))" }
        if partial.contains(index) { tip += " · \(partialName)" }
        let fill = small ? "#ffffff" : colour
        svg +=
          "<circle class=\"point\(small ? " small" : "")\" cx=\"\(f(x(index)))\" cy=\"\(f(y(point)))\" r=\"\(faded ? "2" : "3")\" fill=\"\(fill)\" stroke=\"\(colour)\" stroke-width=\"1.5\">"
          + "<title>\(HTML.escape(tip))</title></circle>"
      }
    }
    svg += "</svg>"
    var legend: [String] = []
    if series.count > 1 {
      legend += series.indices.filter { colours[$0] != others }.map { "<li>\(swatch(colours[$0]))\(HTML.escape(series[$0].name))</li>" }
      let faded = series.indices.filter { colours[$0] == others }.count
      if faded > 0 { legend.append("<li class=\"others\">\(swatch(others))\(HTML.escape(othersName)) (\(faded))</li>") }
    }
    if series.contains(where: { $0.sizes?.contains { $0 < smallSample } ?? false }) {
      legend.append("<li class=\"small-note\">\(hollowSwatch()) n &lt; \(smallSample)</li>")
    }
    if !partial.isEmpty { legend.append("<li class=\"partial-note\">\(swatch("#eef0f3"))\(HTML.escape(partialName))</li>") }
    if !legend.isEmpty { svg += "<ul class=\"legend\">" + legend.joined() + "</ul>" }
    return svg
  }

  /// Each series' colour: its own from the palette, unless there are more than
  /// ``distinctLines``: then only the three highest and three lowest by mean keep one.
  static func colours(_ series: [Series]) -> [String] {
    guard series.count > distinctLines else { return series.indices.map { palette[$0 % palette.count] } }
    let means = series.map { line -> Double? in
      let values = line.points.compactMap { $0 }
      return values.isEmpty ? nil : values.reduce(0, +) / Double(values.count)
    }
    let ranked = series.indices.filter { means[$0] != nil }.sorted { means[$0]! > means[$1]! }
    let picked = Array(ranked.prefix(distinctLines / 2)) + Array(ranked.suffix(distinctLines / 2))
    var colours = Array(repeating: others, count: series.count)
    for (number, index) in picked.enumerated() { colours[index] = palette[number % palette.count] }
    return colours
  }

  /// The legend's mark for a hollow point (a small sample).
  static func hollowSwatch() -> String {
    "<svg class=\"swatch\" width=\"10\" height=\"10\" aria-hidden=\"true\"><circle cx=\"5\" cy=\"5\" r=\"3.5\" fill=\"#ffffff\" stroke=\"#4b5563\" stroke-width=\"1.5\"/></svg>"
  }

  /// One row of a forest plot: an estimate and its interval.
  struct Estimate {
    var label: String
    var value: Double
    var low: Double
    var high: Double
    var colour: String
  }

  /// A forest plot: each estimate as a dot with its interval, against a zero line, values
  /// formatted by `format` (e.g. percentages).
  static func forest(title: String, description: String, estimates: [Estimate], format: (Double) -> String) -> String {
    guard !estimates.isEmpty else { return "" }
    let width = 640.0, rowHeight = 28.0, left = 200.0, right = 20.0, top = 10.0
    let height = top + rowHeight * Double(estimates.count) + 30
    let bound = max(estimates.map { max(abs($0.low), abs($0.high)) }.filter(\.isFinite).max() ?? 0.1, 1e-9) * 1.1
    let plotWidth = width - left - right
    func x(_ value: Double) -> Double { left + plotWidth * (min(max(value, -bound), bound) + bound) / (2 * bound) }
    var svg =
      "<svg class=\"chart forest\" viewBox=\"0 0 \(Int(width)) \(Int(height))\" role=\"img\" aria-labelledby=\"t\(id(title)) d\(id(title))\">"
    svg += "<title id=\"t\(id(title))\">\(HTML.escape(title))</title><desc id=\"d\(id(title))\">\(HTML.escape(description))</desc>"
    svg += "<line class=\"zero\" x1=\"\(f(x(0)))\" x2=\"\(f(x(0)))\" y1=\"\(f(top))\" y2=\"\(f(height - 24))\"/>"
    for (row, estimate) in estimates.enumerated() {
      let y = top + rowHeight * (Double(row) + 0.5)
      svg += "<text class=\"axis\" x=\"\(f(left - 8))\" y=\"\(f(y + 4))\" text-anchor=\"end\">\(HTML.escape(estimate.label))</text>"
      svg +=
        "<line x1=\"\(f(x(estimate.low)))\" x2=\"\(f(x(estimate.high)))\" y1=\"\(f(y))\" y2=\"\(f(y))\" stroke=\"\(estimate.colour)\" stroke-width=\"2\"/>"
      svg +=
        "<circle cx=\"\(f(x(estimate.value)))\" cy=\"\(f(y))\" r=\"5\" fill=\"\(estimate.colour)\"><title>\(HTML.escape("\(estimate.label): \(format(estimate.value)) [\(format(estimate.low)), \(format(estimate.high))]"))</title></circle>"
    }
    for value in [-bound / 1.1, 0, bound / 1.1] {
      svg += "<text class=\"axis\" x=\"\(f(x(value)))\" y=\"\(f(height - 8))\" text-anchor=\"middle\">\(HTML.escape(format(value)))</text>"
    }
    return svg + "</svg>"
  }

  /// One step of a waterfall: a contributor's rate and mix parts.
  struct Step {
    var label: String
    var rate: Double
    var mix: Double
  }

  /// A horizontal waterfall from `start` to `end`: each step floats from where the one
  /// before it ended, its rate part then its mix part (two colours, named in the legend),
  /// so the steps visibly add up to the change. Every bar has a hover title.
  static func waterfall(
    title: String, description: String, start: (String, Double), steps: [Step], end: (String, Double),
    legend: (rate: String, mix: String), value: (Double) -> String, change: (Double) -> String
  ) -> String {
    let width = 640.0, rowHeight = 26.0, left = 170.0, right = 96.0, top = 6.0
    let rows = steps.count + 2
    let height = top + rowHeight * Double(rows) + 26
    var running = start.1
    var extremes = [start.1, end.1]
    for step in steps {
      extremes += [running + step.rate, running + step.rate + step.mix]
      running += step.rate + step.mix
    }
    var (low, high) = (extremes.min()!, extremes.max()!)
    let pad = max((high - low) * 0.08, abs(high) * 1e-6, 1e-12)
    (low, high) = (low - pad, high + pad)
    let plotWidth = width - left - right
    func x(_ value: Double) -> Double { left + plotWidth * (value - low) / (high - low) }
    var svg =
      "<svg class=\"chart waterfall\" viewBox=\"0 0 \(Int(width)) \(Int(height))\" role=\"img\" aria-labelledby=\"t\(id(title)) d\(id(title))\">"
    svg += "<title id=\"t\(id(title))\">\(HTML.escape(title))</title><desc id=\"d\(id(title))\">\(HTML.escape(description))</desc>"
    func bar(_ row: Int, from: Double, to: Double, colour: String, tip: String) -> String {
      let y = top + rowHeight * Double(row) + 4
      let (a, b) = (x(min(from, to)), x(max(from, to)))
      return
        "<rect x=\"\(f(a))\" y=\"\(f(y))\" width=\"\(f(max(b - a, 1)))\" height=\"\(f(rowHeight - 8))\" fill=\"\(colour)\"><title>\(HTML.escape(tip))</title></rect>"
    }
    func label(_ row: Int, _ text: String, note: String) -> String {
      let y = top + rowHeight * Double(row) + 17
      return "<text class=\"axis\" x=\"\(f(left - 8))\" y=\"\(f(y))\" text-anchor=\"end\">\(HTML.escape(text))</text>"
        + "<text class=\"axis\" x=\"\(f(width - right + 6))\" y=\"\(f(y))\">\(HTML.escape(note))</text>"
    }
    svg += label(0, start.0, note: value(start.1)) + bar(0, from: low, to: start.1, colour: "#6b7280", tip: "\(start.0): \(value(start.1))")
    running = start.1
    for (index, step) in steps.enumerated() {
      let row = index + 1
      svg += label(row, step.label, note: change(step.rate + step.mix))
      svg += bar(
        row, from: running, to: running + step.rate, colour: palette[0], tip: "\(step.label), \(legend.rate): \(change(step.rate))")
      svg += bar(
        row, from: running + step.rate, to: running + step.rate + step.mix, colour: palette[1],
        tip: "\(step.label), \(legend.mix): \(change(step.mix))")
      running += step.rate + step.mix
    }
    svg +=
      label(rows - 1, end.0, note: value(end.1)) + bar(rows - 1, from: low, to: end.1, colour: "#374151", tip: "\(end.0): \(value(end.1))")
    let axisY = height - 8
    for tick in [low + pad, (low + high) / 2, high - pad] {
      svg += "<text class=\"axis\" x=\"\(f(x(tick)))\" y=\"\(f(axisY))\" text-anchor=\"middle\">\(HTML.escape(value(tick)))</text>"
    }
    svg += "</svg>"
    svg +=
      "<ul class=\"legend\"><li>\(swatch(palette[0]))\(HTML.escape(legend.rate))</li>"
      + "<li>\(swatch(palette[1]))\(HTML.escape(legend.mix))</li></ul>"
    return svg
  }

  /// A horizontal bar chart of labelled values.
  static func bars(title: String, description: String, items: [(String, Double)], format: (Double) -> String) -> String {
    guard let top = items.map(\.1).max(), top > 0 else { return "" }
    let width = 640.0, rowHeight = 24.0, left = 160.0, right = 90.0
    let height = rowHeight * Double(items.count) + 8
    var svg =
      "<svg class=\"chart\" viewBox=\"0 0 \(Int(width)) \(Int(height))\" role=\"img\" aria-labelledby=\"t\(id(title)) d\(id(title))\">"
    svg += "<title id=\"t\(id(title))\">\(HTML.escape(title))</title><desc id=\"d\(id(title))\">\(HTML.escape(description))</desc>"
    for (row, item) in items.enumerated() {
      let y = 4 + rowHeight * Double(row)
      let length = (width - left - right) * max(0, item.1) / top
      svg += "<text class=\"axis\" x=\"\(f(left - 8))\" y=\"\(f(y + 16))\" text-anchor=\"end\">\(HTML.escape(item.0))</text>"
      svg += "<rect x=\"\(f(left))\" y=\"\(f(y + 3))\" width=\"\(f(length))\" height=\"\(f(rowHeight - 8))\" fill=\"\(palette[0])\"/>"
      svg += "<text class=\"axis\" x=\"\(f(left + length + 6))\" y=\"\(f(y + 16))\">\(HTML.escape(format(item.1)))</text>"
    }
    return svg + "</svg>"
  }

  private static func f(_ value: Double) -> String { KpiFormat.fixed(value, digits: 1) }

  /// A legend's colour swatch: a small SVG, because the page's content security policy
  /// refuses inline `style` attributes (a CSS variable set there never arrives).
  static func swatch(_ colour: String) -> String {
    "<svg class=\"swatch\" width=\"14\" height=\"10\" aria-hidden=\"true\"><rect width=\"14\" height=\"10\" fill=\"\(colour)\"/></svg>"
  }

  /// An id for `title`'s elements, unique per title within a page.
  private static func id(_ title: String) -> String {
    String(UInt32(truncatingIfNeeded: title.unicodeScalars.reduce(5381) { ($0 &* 33) &+ Int($1.value) }), radix: 36)
  }
}
