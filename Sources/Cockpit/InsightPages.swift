import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2
import SightlineModel
import SightlineRPC
import SightlineWire
import SwiftProtobuf

/// The period a segments or voice page covers: the last `days` days (URL `days`).
private func period(_ context: PageContext) -> (days: Int32, range: Sightline_Common_V1_TimeRange) {
  let days = OverviewPage.days(context)
  let end = WallClock.now
  return (
    days,
    .with {
      $0.start = Google_Protobuf_Timestamp(unixMilliseconds: end - Int64(days) * 86_400_000)
      $0.end = Google_Protobuf_Timestamp(unixMilliseconds: end)
    }
  )
}

/// Segments: every segment's scorecard against the previous period, and the at-risk list
/// to call back first.
enum SegmentsPage {
  static func render(_ context: PageContext, gateway: GRPCClient<HTTP2ClientTransport.Posix>) async throws -> String {
    let (days, range) = period(context)
    let segmentation = Sightline_Segmentation_V1_Segmentation.Client(wrapping: gateway)
    let metadata = Cockpit.metadata(context.session)
    let segments = try await segmentation.listSegments(.init(), metadata: metadata)
    var body = OverviewPage.periodPicker(context, days: days)
    body +=
      "<section aria-labelledby=\"cards\"><h2 id=\"cards\">\(HTML.escape(context.text("segments.title")))</h2><div class=\"cards wide\">"
    for name in segments.builtin + segments.segments.map(\.name) {
      let card = try await segmentation.getScorecard(
        .with {
          $0.segment = name; $0.range = range
        }, metadata: metadata)
      let rows = card.figures.map { figure -> [String] in
        let kind = KpiKind(rawValue: figure.name)
        let format = { (value: Double) in kind.map { KpiFormat.value(value, $0) } ?? KpiFormat.fixed(value, digits: 2) }
        let shown = figure.sampleSize > 0 ? format(figure.value) : "–"
        return [
          HTML.escape(kind.map(context.language.kpi) ?? figure.name),
          "<span data-segment=\"\(HTML.escape(name))\" data-figure=\"\(HTML.escape(figure.name))\">\(HTML.escape(shown))</span>",
          HTML.escape(format(figure.previous)), "\(figure.sampleSize)",
        ]
      }
      body += "<article class=\"scorecard\" data-segment=\"\(HTML.escape(name))\"><h3>\(HTML.escape(name))</h3>"
      body += "<p>\(HTML.escape(context.text("segments.members"))): <span class=\"members\">\(card.members)</span></p>"
      body += Layout.table(
        caption: name,
        header: [
          context.text("segments.figure"), context.text("segments.now"), context.text("segments.before"), context.text("headline.sample"),
        ],
        rows: rows)
      body += "</article>"
    }
    body += "</div></section>"
    let atRisk = try await segmentation.listAtRisk(.with { $0.limit = 25 }, metadata: metadata)
    body += "<section aria-labelledby=\"atrisk\"><h2 id=\"atrisk\">\(HTML.escape(context.text("atrisk.title")))</h2>"
    body +=
      atRisk.customers.isEmpty
      ? "<p>\(HTML.escape(context.text("nodata")))</p>"
      : Layout.table(
        caption: context.text("atrisk.title"),
        header: [context.text("atrisk.customer"), context.text("atrisk.score"), context.text("atrisk.reasons")],
        rows: atRisk.customers.map { customer in
          [
            "<span data-customer=\"\(HTML.escape(customer.customerID))\">\(HTML.escape(customer.customerID))</span>",
            KpiFormat.fixed(customer.score, digits: 0),
            HTML.escape(customer.reasons.map { "\($0.detail) (+\(KpiFormat.fixed($0.points, digits: 0)))" }.joined(separator: "; ")),
          ]
        }, numericFrom: 1)
    body += "</section>"
    return Layout.page(context, title: context.text("nav.segments"), body: body)
  }
}

/// Voice of the customer: the top negative themes as phrases with their share against the
/// period before, the themes that rose most (tested), a theme's texts and its split by a
/// dimension (`?theme=…&split=…`), and the weekly sentiment of all feedback.
enum VoicePage {
  /// The dimensions a theme can be split by on the page, the first the default.
  static let splits = ["business_line", "product_module", "problem_type", "channel", "region", "tier"]

  static func render(_ context: PageContext, gateway: GRPCClient<HTTP2ClientTransport.Posix>) async throws -> String {
    let (days, range) = period(context)
    let segmentation = Sightline_Segmentation_V1_Segmentation.Client(wrapping: gateway)
    let metadata = Cockpit.metadata(context.session)
    let theme = context.parameter("theme").map { String($0.prefix(200)) }.flatMap { $0.isEmpty ? nil : $0 }
    let split = context.parameter("split").flatMap { splits.contains($0) ? $0 : nil } ?? splits[0]
    let known = try await segmentation.listSegments(.init(), metadata: metadata)
    let names = known.builtin + known.segments.map(\.name)
    let segment = context.parameter("segment").flatMap { names.contains($0) ? $0 : nil }
    let themes = try await segmentation.getThemes(
      .with {
        $0.range = range; $0.limit = 12; $0.negativeOnly = true
        if let segment { $0.segment = segment }
        if theme != nil { $0.splitBy = split }
      }, metadata: metadata)
    var body = OverviewPage.periodPicker(context, days: days)
    let options =
      "<option value=\"\"\(segment == nil ? " selected" : "")>\(HTML.escape(context.text("voice.everyone")))</option>"
      + names.map { "<option value=\"\(HTML.escape($0))\"\($0 == segment ? " selected" : "")>\(HTML.escape($0))</option>" }.joined()
    body += """
      <form class="filters" method="get" action="/voice">
      <input type="hidden" name="days" value="\(days)"><input type="hidden" name="lang" value="\(context.language.rawValue)">
      <label>\(HTML.escape(context.text("voice.segment"))) <select name="segment">\(options)</select></label>
      <button type="submit">\(HTML.escape(context.text("explore.show")))</button></form>
      """
    if let theme {
      body += try await drillDown(
        context, theme: theme, split: split, segment: segment, range: range, themes: themes, segmentation: segmentation)
    }
    let compared = themes.previousDocuments > 0
    body += "<section aria-labelledby=\"themes\"><h2 id=\"themes\">\(HTML.escape(context.text("voice.themes")))</h2>"
    body += "<p>\(HTML.escape(context.text("voice.analysed"))): \(themes.documents)"
    body += compared ? " · \(HTML.escape(context.text("voice.before"))): \(themes.previousDocuments)</p>" : "</p>"
    body +=
      themes.themes.isEmpty
      ? "<p>\(HTML.escape(context.text("nodata")))</p>"
      : Layout.table(
        caption: context.text("voice.themes"),
        header: [
          context.text("voice.term"), context.text("voice.count"), context.text("voice.share"), context.text("voice.previous"),
          context.text("voice.mix"), context.text("voice.related"), context.text("voice.examples"),
        ],
        rows: themes.themes.map { theme in
          [
            link(context, theme.term, days: days, segment: segment), "\(theme.count)", KpiFormat.percent(theme.share),
            compared ? KpiFormat.percent(theme.previousShare) : "–",
            Self.mix(negative: theme.negativeShare, neutral: theme.neutralShare, positive: theme.positiveShare),
            HTML.escape(theme.related.prefix(3).joined(separator: ", ")),
            "<ul class=\"examples\">" + theme.examples.map { "<li>\(HTML.escape($0))</li>" }.joined() + "</ul>",
          ]
        }, numericFrom: 1)
    body += "</section>"
    if !themes.emerging.isEmpty {
      body += "<section aria-labelledby=\"emerging\"><h2 id=\"emerging\">\(HTML.escape(context.text("voice.emerging")))</h2>"
      body += "<p class=\"note\">\(HTML.escape(context.text("voice.emerging.note")))</p>"
      body += Layout.table(
        caption: context.text("voice.emerging"),
        header: [
          context.text("voice.term"), context.text("voice.count"), context.text("voice.share"), context.text("voice.previous"),
          context.text("voice.rise"), "p", "q",
        ],
        rows: themes.emerging.map { theme in
          let rise = theme.share - theme.previousShare
          return [
            "<span data-emerging=\"\(HTML.escape(theme.term))\">\(link(context, theme.term, days: days, segment: segment))</span>",
            "\(theme.count)",
            KpiFormat.percent(theme.share), KpiFormat.percent(theme.previousShare), "+" + KpiFormat.fixed(rise * 100, digits: 1) + " pts",
            KpiFormat.fixed(theme.changePValue, digits: 4),
            (theme.changeQValue < 0.05 ? "<strong>" : "<span>") + KpiFormat.fixed(theme.changeQValue, digits: 4)
              + (theme.changeQValue < 0.05 ? "</strong>" : "</span>"),
          ]
        }, numericFrom: 1)
      body += "</section>"
    }
    body += try await trend(context, range: range, segmentation: segmentation, metadata: metadata)
    return Layout.page(context, title: context.text("voice.title"), body: body)
  }

  /// A link to `term`'s drill-down on this page.
  static func link(_ context: PageContext, _ term: String, days: Int32, segment: String?) -> String {
    let query = HTML.query([("days", "\(days)"), ("segment", segment ?? ""), ("theme", term), ("lang", context.language.rawValue)])
    return "<a data-theme=\"\(HTML.escape(term))\" href=\"/voice\(HTML.escape(query))#theme\">\(HTML.escape(term))</a>"
  }

  /// One theme's texts, newest first, and its split by `split`.
  static func drillDown(
    _ context: PageContext, theme: String, split: String, segment: String?, range: Sightline_Common_V1_TimeRange,
    themes: Sightline_Segmentation_V1_GetThemesResponse,
    segmentation: Sightline_Segmentation_V1_Segmentation.Client<HTTP2ClientTransport.Posix>
  ) async throws -> String {
    let texts = try await segmentation.getThemes(
      .with {
        $0.range = range; $0.negativeOnly = true; $0.theme = theme; $0.limit = 30
        if let segment { $0.segment = segment }
      }, metadata: Cockpit.metadata(context.session))
    var html = "<section id=\"theme\" aria-labelledby=\"theme-title\" class=\"drill\">"
    html += "<h2 id=\"theme-title\">\(HTML.escape(context.text("voice.drill"))): <q>\(HTML.escape(theme))</q></h2>"
    let options = splits.map { name in
      "<option value=\"\(name)\"\(name == split ? " selected" : "")>\(HTML.escape(context.text("voice.split." + name)))</option>"
    }.joined()
    html += """
      <form class="filters" method="get" action="/voice#theme">
      <input type="hidden" name="days" value="\(OverviewPage.days(context))"><input type="hidden" name="theme" value="\(HTML.escape(theme))">
      <input type="hidden" name="lang" value="\(context.language.rawValue)">
      <input type="hidden" name="segment" value="\(HTML.escape(segment ?? ""))">
      <label>\(HTML.escape(context.text("voice.splitby"))) <select name="split">\(options)</select></label>
      <button type="submit">\(HTML.escape(context.text("explore.show")))</button></form>
      """
    if let shown = themes.themes.first(where: { $0.term == theme }), !shown.splits.isEmpty {
      html += Layout.table(
        caption: context.text("voice.split." + split),
        header: [context.text("voice.split." + split), context.text("voice.count"), context.text("voice.of"), context.text("voice.share")],
        rows: shown.splits.map { part in
          [
            "<span data-split=\"\(HTML.escape(part.value))\">\(HTML.escape(part.value.isEmpty ? "–" : part.value))</span>", "\(part.count)",
            "\(part.texts)", KpiFormat.percent(part.share),
          ]
        }, numericFrom: 1)
    }
    html +=
      texts.texts.isEmpty
      ? "<p>\(HTML.escape(context.text("nodata")))</p>"
      : Layout.table(
        caption: context.text("voice.texts"),
        header: [
          context.text("voice.when"), context.text("voice.sentiment"), context.text("voice.split.business_line"),
          context.text("voice.text"),
        ],
        rows: texts.texts.map { text in
          [
            HTML.escape(context.time(text.time)), HTML.escape(context.text("voice." + text.label)),
            HTML.escape(text.businessLine.isEmpty ? "–" : text.businessLine), "<span class=\"text\">\(HTML.escape(text.text))</span>",
          ]
        }, numericFrom: 4)
    return html + "</section>"
  }

  /// Twelve weeks of sentiment, one GetThemes call per week: its shares of negative and of
  /// positive texts, each point titled with its week and its number of texts.
  static func trend(
    _ context: PageContext, range: Sightline_Common_V1_TimeRange,
    segmentation: Sightline_Segmentation_V1_Segmentation.Client<HTTP2ClientTransport.Posix>, metadata: Metadata
  ) async throws -> String {
    let week: Int64 = 7 * 86_400_000
    let end = range.end.unixMilliseconds
    var labels: [String] = []
    var negative: [Double?] = []
    var positive: [Double?] = []
    var sizes: [Int64] = []
    for index in (0..<12).reversed() {
      let start = end - Int64(index + 1) * week
      let reply = try await segmentation.getThemes(
        .with {
          $0.range = .with {
            $0.start = Google_Protobuf_Timestamp(unixMilliseconds: start)
            $0.end = Google_Protobuf_Timestamp(unixMilliseconds: start + week)
          }
          $0.limit = 1
        }, metadata: metadata)
      labels.append(String(context.day(milliseconds: start).dropFirst(5)))
      negative.append(reply.documents > 0 ? reply.negativeShare : nil)
      positive.append(reply.documents > 0 ? reply.positiveShare : nil)
      sizes.append(reply.documents)
    }
    let title = context.text("voice.trend")
    var html = "<section aria-labelledby=\"sentiment\"><h2 id=\"sentiment\">\(HTML.escape(title))</h2><figure class=\"chart-box wide\">"
    let described = labels.indices.map { index in
      "\(labels[index]): \(context.text("voice.negative")) \(negative[index].map(KpiFormat.percent) ?? "–"), "
        + "\(context.text("voice.positive")) \(positive[index].map(KpiFormat.percent) ?? "–"), n=\(sizes[index])"
    }
    html += Charts.line(
      title: title, description: described.joined(separator: "; "), labels: labels,
      series: [
        .init(name: context.text("voice.negative"), points: negative, sizes: sizes),
        .init(name: context.text("voice.positive"), points: positive, sizes: sizes),
      ],
      format: KpiFormat.percent)
    return html + "</figure></section>"
  }
}

extension VoicePage {
  /// A theme's sentiment as shares: a bar of three parts and the figures beside it.
  static func mix(negative: Double, neutral: Double, positive: Double) -> String {
    var bar = "<svg class=\"mix\" viewBox=\"0 0 100 10\" width=\"100\" height=\"10\" role=\"img\" aria-hidden=\"true\">"
    var x = 0.0
    for (share, kind) in [(negative, "negative"), (neutral, "neutral"), (positive, "positive")] where share > 0 {
      bar +=
        "<rect class=\"\(kind)\" x=\"\(String(format: "%.1f", x))\" y=\"0\" width=\"\(String(format: "%.1f", share * 100))\" height=\"10\"/>"
      x += share * 100
    }
    bar += "</svg>"
    let figures = [negative, neutral, positive].map(KpiFormat.percent).joined(separator: " · ")
    return "<span data-sentiment-mix=\"\(figures)\">\(bar) \(HTML.escape(figures))</span>"
  }
}

/// Experiments: each one's verdict, its effects with confidence intervals as a table and a
/// forest plot, and the warnings.
enum ExperimentsPage {
  static func render(_ context: PageContext, gateway: GRPCClient<HTTP2ClientTransport.Posix>) async throws -> String {
    let experiments = Sightline_Experiments_V1_Experiments.Client(wrapping: gateway)
    let metadata = Cockpit.metadata(context.session)
    let list = try await experiments.listExperiments(.init(), metadata: metadata)
    guard !list.experiments.isEmpty else {
      return Layout.page(context, title: context.text("experiments.title"), body: "<p>\(HTML.escape(context.text("experiments.none")))</p>")
    }
    var body = ""
    for experiment in list.experiments {
      body += "<section class=\"experiment\" data-experiment=\"\(HTML.escape(experiment.name))\"><h2>\(HTML.escape(experiment.name))</h2>"
      let evaluation: Sightline_Experiments_V1_Evaluation
      do {
        evaluation = try await experiments.evaluate(
          .with {
            $0.name = experiment.name; $0.includeSeries = true
          }, metadata: metadata)
      } catch let error as RPCError {
        body += Layout.unavailable(context, error.message) + "</section>"
        continue
      }
      body +=
        "<p class=\"verdict \(verdictName(evaluation.verdict))\">\(HTML.escape(context.text("experiments.verdict"))): <strong data-verdict=\"\(verdictName(evaluation.verdict))\">\(HTML.escape(context.text("verdict." + verdictName(evaluation.verdict))))</strong>"
      body += evaluation.running ? " · \(HTML.escape(context.text("experiments.running")))" : ""
      body += "</p>"
      let results = evaluation.results.compactMap { result in KpiWire.kpis[result.metric.kpi].map { (result, $0) } }
      body += Layout.table(
        caption: experiment.name,
        header: [
          context.text("experiments.metric"), context.text("experiments.effect"), context.text("experiments.verdict"),
          context.text("experiments.ci"), context.text("experiments.p"), context.text("experiments.fixed"),
        ],
        rows: results.map { result, kind in
          let name = context.language.kpi(kind) + (result.guardrail ? " (\(context.text("experiments.guardrail")))" : "")
          let relative = result.control != 0 ? " (\(signedPercent(result.relativeEffect)))" : ""
          let decided = !result.decisionBasis.isEmpty
          let basis = decided ? context.text("experiments.basis." + result.decisionBasis) : "–"
          return [
            HTML.escape(name),
            "<span data-metric=\"\(kind.rawValue)\" data-effect=\"\(result.effect)\">\(HTML.escape(signed(result.effect, kind) + relative))</span>",
            HTML.escape(context.text("verdict." + verdictName(result.verdict))),
            decided
              ? "<span data-decision-low=\"\(result.decisionCiLow)\" data-decision-high=\"\(result.decisionCiHigh)\" data-verdict=\"\(verdictName(result.verdict))\">"
                + HTML.escape("[\(signed(result.decisionCiLow, kind)), \(signed(result.decisionCiHigh, kind))] \(basis)") + "</span>"
              : "–",
            decided ? KpiFormat.fixed(result.decisionPValue, digits: 4) : "–",
            "<span class=\"muted\">"
              + HTML.escape(
                "[\(signed(result.ciLow, kind)), \(signed(result.ciHigh, kind))], p \(KpiFormat.fixed(result.pValueAdjusted, digits: 4))")
              + "</span>",
          ]
        })
      // The forest shows each verdict's own interval, relative to the control's level.
      let estimates = results.filter { $0.0.control != 0 && !$0.0.decisionBasis.isEmpty }.map { result, kind in
        Charts.Estimate(
          label: context.language.kpi(kind), value: result.effect / abs(result.control), low: result.decisionCiLow / abs(result.control),
          high: result.decisionCiHigh / abs(result.control),
          colour: result.verdict == .better ? "#15803d" : result.verdict == .worse ? "#b91c1c" : "#52525b")
      }
      let title = context.text("experiments.forest")
      body += "<figure class=\"chart-box wide\"><figcaption>\(HTML.escape(title))</figcaption>"
      body += Charts.forest(
        title: "\(experiment.name): \(title)",
        description: estimates.map { "\($0.label): \(signedPercent($0.value)) [\(signedPercent($0.low)), \(signedPercent($0.high))]" }
          .joined(separator: "; "),
        estimates: estimates, format: signedPercent)
      body += "</figure>"
      body += Self.arms(context, evaluation, experiment: experiment.name)
      let warnings = evaluation.warnings.filter { $0.code != "running" }
      if !warnings.isEmpty {
        body +=
          "<h3>\(HTML.escape(context.text("experiments.warnings")))</h3><ul class=\"warnings\">"
          + warnings.map { "<li data-warning=\"\(HTML.escape($0.code))\">\(HTML.escape($0.message))</li>" }.joined() + "</ul>"
      }
      body += "</section>"
    }
    return Layout.page(context, title: context.text("experiments.title"), body: body)
  }

  /// The picture a verdict rests on: each primary metric's treated and control values by
  /// day (or week) before and after the rollout, the rollout marked, the pre-period
  /// balance said.
  static func arms(_ context: PageContext, _ evaluation: Sightline_Experiments_V1_Evaluation, experiment: String) -> String {
    if !evaluation.seriesNote.isEmpty {
      return
        "<p class=\"muted\" data-arms-note>\(HTML.escape(context.text("experiments.arms.none"))): \(HTML.escape(evaluation.seriesNote))</p>"
    }
    let rollout = evaluation.postPeriod.start.unixMilliseconds
    var html = ""
    for (index, series) in evaluation.series.enumerated() {
      guard let kind = KpiWire.kpis[series.kpi], !series.points.isEmpty else { continue }
      let labels = series.points.map { String(context.day(milliseconds: $0.start.unixMilliseconds).dropFirst(5)) }
      let treated = series.points.map { $0.treatmentN > 0 ? $0.treatment : nil }
      let control = series.points.map { $0.controlN > 0 ? $0.control : nil }
      let marker = series.points.firstIndex { $0.start.unixMilliseconds >= rollout }
      let title = "\(context.language.kpi(kind)): \(context.text("experiments.arms"))"
      let described = series.points.indices.map { i in
        "\(labels[i]): \(context.text("experiments.treated")) \(treated[i].map { KpiFormat.value($0, kind) } ?? "–") (n=\(series.points[i].treatmentN)), "
          + "\(context.text("experiments.control")) \(control[i].map { KpiFormat.value($0, kind) } ?? "–") (n=\(series.points[i].controlN))"
      }
      html += "<figure class=\"chart-box wide\" data-arms=\"\(kind.rawValue)\"><figcaption>\(HTML.escape(title))</figcaption>"
      html += Charts.line(
        title: "\(experiment): \(title)", description: described.joined(separator: "; "), labels: labels,
        series: [
          .init(name: context.text("experiments.treated"), points: treated, sizes: series.points.map(\.treatmentN)),
          .init(name: context.text("experiments.control"), points: control, sizes: series.points.map(\.controlN)),
        ],
        format: { KpiFormat.value($0, kind) }, marker: marker,
        markerName: "\(context.text("experiments.rollout")) \(context.day(milliseconds: rollout))")
      if evaluation.balancePValues.indices.contains(index) {
        let p = evaluation.balancePValues[index]
        let key = p < 0.05 ? "experiments.balance.differed" : "experiments.balance.alike"
        html += "<p class=\"muted\" data-balance=\"\(p)\">\(HTML.escape(context.text(key))) (p = \(KpiFormat.fixed(p, digits: 3)))</p>"
      }
      html += "</figure>"
    }
    return html
  }

  static func verdictName(_ verdict: Sightline_Experiments_V1_Verdict) -> String {
    switch verdict {
    case .better: "better"
    case .worse: "worse"
    case .inconclusive: "inconclusive"
    default: "unspecified"
    }
  }

  static func signed(_ value: Double, _ kind: KpiKind) -> String {
    guard value.isFinite else { return value > 0 ? "+∞" : "−∞" }
    if kind.isRate { return (value < 0 ? "−" : "+") + KpiFormat.fixed(abs(value) * 100, digits: 1) + " pts" }
    return (value < 0 ? "−" : "+") + KpiFormat.value(abs(value), kind)
  }

  static func signedPercent(_ value: Double) -> String {
    guard value.isFinite else { return value > 0 ? "+∞" : "−∞" }
    return (value < 0 ? "−" : "+") + KpiFormat.percent(abs(value))
  }
}

/// The tenant's API keys: an admin page (a reader or writer gets 403 before any call).
enum KeysPage {
  static func render(_ context: PageContext, gateway: GRPCClient<HTTP2ClientTransport.Posix>) async throws -> String {
    let keys = try await Sightline_Gateway_V1_Gateway.Client(wrapping: gateway).listKeys(
      .init(), metadata: Cockpit.metadata(context.session))
    let body = Layout.table(
      caption: context.text("keys.title"),
      header: [
        context.text("keys.id"), context.text("keys.role"), context.text("keys.label"), context.text("keys.created"),
        context.text("keys.revoked"),
      ],
      rows: keys.keys.map { key in
        [
          HTML.escape(key.id), HTML.escape("\(key.role)"), HTML.escape(key.label), context.time(key.createdAt),
          key.hasRevokedAt ? context.time(key.revokedAt) : "–",
        ]
      }, numericFrom: 5)
    return Layout.page(context, title: context.text("keys.title"), body: body)
  }
}
