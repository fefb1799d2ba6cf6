import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2
import SightlineModel
import SightlineRPC
import SightlineWire
import SwiftProtobuf

/// The cases pages (docs/cases.md): the list, one case with its history, and the follow-up
/// list of detractors (回访). Opening a case for an alert is a form on the overview.
enum CasesPage {
  static func render(_ context: PageContext, gateway: GRPCClient<HTTP2ClientTransport.Posix>) async throws -> String {
    let cases = Sightline_Cases_V1_Cases.Client(wrapping: gateway)
    let metadata = Cockpit.metadata(context.session)
    let overdueOnly = context.parameter("overdue") == "1"
    let unfinished = try await cases.listCases(
      .with {
        $0.statuses = [.open, .inProgress]; $0.overdueOnly = overdueOnly; $0.limit = 200
      }, metadata: metadata)
    let finished = try await cases.listCases(
      .with {
        $0.statuses = [.resolved, .closed]; $0.limit = 50
      }, metadata: metadata)
    let loop = try await cases.getLoopKpis(.init(), metadata: metadata)
    var body = "<p class=\"lead\" data-zone=\"\(HTML.escape(LocalTime.name(context.zone)))\">\(HTML.escape(context.text("cases.lead")))</p>"
    body +=
      "<p><a href=\"/cases\(overdueOnly ? "" : "?overdue=1")\">\(HTML.escape(context.text(overdueOnly ? "cases.all" : "cases.overdue_only")))</a></p>"
    body += "<section aria-labelledby=\"open-cases\"><h2 id=\"open-cases\">\(HTML.escape(context.text("cases.open")))</h2>"
    body += table(context, unfinished.cases, caption: context.text("cases.open")) + "</section>"
    body += "<section aria-labelledby=\"loop\"><h2 id=\"loop\">\(HTML.escape(context.text("cases.loop")))</h2>"
    body += loopTable(context, loop) + "</section>"
    body += "<section aria-labelledby=\"done-cases\"><h2 id=\"done-cases\">\(HTML.escape(context.text("cases.done")))</h2>"
    body += table(context, finished.cases, caption: context.text("cases.done")) + "</section>"
    return Layout.page(context, title: context.text("cases.title"), body: body)
  }

  /// Cases as a table: id (a link), status, owner, due, source, title.
  static func table(_ context: PageContext, _ cases: [Sightline_Cases_V1_Case], caption: String) -> String {
    guard !cases.isEmpty else { return "<p class=\"ok\">\(HTML.escape(context.text("cases.none")))</p>" }
    return Layout.table(
      caption: caption,
      header: [
        context.text("cases.case"), context.text("cases.status"), context.text("cases.owner"),
        context.text("cases.due") + " (\(LocalTime.name(context.zone)))", context.text("cases.source"), context.text("cases.what"),
      ],
      rows: cases.map { item in
        [
          "<a data-case=\"\(HTML.escape(item.id))\" href=\"/case?id=\(HTML.percentEncode(item.id))\">\(HTML.escape(item.id))</a>",
          status(context, item), HTML.escape(item.owner.isEmpty ? "–" : item.owner), HTML.escape(context.time(item.dueAt)),
          HTML.escape(context.text("cases.source." + sourceName(item.source))), HTML.escape(item.title),
        ]
      }, numericFrom: 99)
  }

  static func status(_ context: PageContext, _ item: Sightline_Cases_V1_Case) -> String {
    let name = statusName(item.status)
    return "<span data-status=\"\(name)\">\(HTML.escape(context.text("cases.status." + name)))</span>"
      + (item.overdue ? " <strong class=\"overdue\" data-overdue>\(HTML.escape(context.text("cases.overdue")))</strong>" : "")
  }

  static func loopTable(_ context: PageContext, _ loop: Sightline_Cases_V1_GetLoopKpisResponse) -> String {
    Layout.table(
      caption: context.text("cases.loop"),
      header: [context.text("cases.loop.kpi"), context.text("cases.loop.value"), context.text("cases.loop.median"), "n"],
      rows: loop.kpis.map { kpi in
        let time = kpi.name.hasPrefix("time_")
        func format(_ value: Double) -> String {
          time ? HumanDuration.text(Int64(value.rounded())) : KpiFormat.fixed(value * 100, digits: 1) + "%"
        }
        let defined = kpi.sampleSize > 0
        let name =
          context.text("cases.loop." + kpi.name)
          + (kpi.name == "time_to_close" && loop.businessHours ? " (\(context.text("hours.business")))" : "")
        return [
          HTML.escape(name), "<span data-loop=\"\(HTML.escape(kpi.name))\">\(defined ? HTML.escape(format(kpi.value)) : "–")</span>",
          defined && time ? HTML.escape(format(kpi.median)) : "", String(kpi.sampleSize),
        ]
      })
  }

  static func statusName(_ status: Sightline_Cases_V1_CaseStatus) -> String { CaseWireNames.status(status)?.rawValue ?? "open" }

  static func sourceName(_ source: Sightline_Cases_V1_CaseSource) -> String { CaseWireNames.source(source)?.rawValue ?? "person" }
}

/// One case: what, who, by when, the action taken, and its history.
enum CasePage {
  static func render(_ context: PageContext, gateway: GRPCClient<HTTP2ClientTransport.Posix>) async throws -> String {
    let id = context.parameter("id") ?? ""
    let reply = try await Sightline_Cases_V1_Cases.Client(wrapping: gateway).getCase(
      .with { $0.caseID = id }, metadata: Cockpit.metadata(context.session))
    let item = reply.case
    var facts: [(String, String)] = [
      (context.text("cases.status"), CasesPage.status(context, item)),
      (context.text("cases.owner"), "<span data-owner>\(HTML.escape(item.owner.isEmpty ? "–" : item.owner))</span>"),
      (
        context.text("cases.due"),
        HTML.escape(context.time(item.dueAt))
          + (item.dueInBusinessHours ? " (\(HTML.escape(context.text("hours.business"))))" : "")
      ),
      (
        context.text("cases.source"),
        HTML.escape(
          context.text("cases.source." + CasesPage.sourceName(item.source)) + (item.sourceRef.isEmpty ? "" : " \(item.sourceRef)"))
      ),
      (context.text("cases.opened"), HTML.escape(context.time(item.openedAt))),
    ]
    if let scope = scopeText(context, item.scope) { facts.append((context.text("cases.scope"), HTML.escape(scope))) }
    if item.hasAction {
      facts.append(
        (
          context.text("cases.action"),
          "<span data-action>\(HTML.escape(item.action.description_p))</span> (\(HTML.escape(context.day(item.action.effectiveAt))))"
        ))
    }
    if item.hasClosedAt { facts.append((context.text("cases.closed"), HTML.escape(context.time(item.closedAt)))) }
    var body =
      "<p class=\"lead\" data-case=\"\(HTML.escape(item.id))\" data-zone=\"\(HTML.escape(LocalTime.name(context.zone)))\">\(HTML.escape(item.title))</p>"
    body += "<dl class=\"facts\">" + facts.map { "<dt>\(HTML.escape($0.0))</dt><dd>\($0.1)</dd>" }.joined() + "</dl>"
    body += "<section aria-labelledby=\"history\"><h2 id=\"history\">\(HTML.escape(context.text("cases.history")))</h2>"
    body += Layout.table(
      caption: context.text("cases.history"),
      header: [context.text("cases.when"), context.text("cases.who"), context.text("cases.change"), context.text("cases.detail")],
      rows: reply.history.map { change in
        [
          HTML.escape(context.time(change.at)), HTML.escape(change.actor),
          "<span data-change=\"\(HTML.escape(change.kind))\">\(HTML.escape(context.text("cases.change." + change.kind)))</span>",
          HTML.escape(change.detail),
        ]
      }, numericFrom: 99)
    body += "</section>" + workForm(context, item) + verificationSection(context, reply.verifications)
    body += "<p><a href=\"/cases\">\(HTML.escape(context.text("cases.back")))</a></p>"
    return Layout.page(context, title: context.text("cases.case") + " " + item.id, body: body)
  }

  /// Assign the case or note on it: a form for writers and admins (a reader sees none).
  static func workForm(_ context: PageContext, _ item: Sightline_Cases_V1_Case) -> String {
    guard context.session.role != "reader" else { return "" }
    return "<form class=\"work-case\" method=\"post\" action=\"/cases/update\">"
      + "<input type=\"hidden\" name=\"csrf\" value=\"\(context.session.csrf)\"><input type=\"hidden\" name=\"case\" value=\"\(HTML.escape(item.id))\">"
      + "<label>\(HTML.escape(context.text("cases.assignTo"))) <input name=\"owner\" maxlength=\"200\" placeholder=\"\(HTML.escape(item.owner))\"></label> "
      + "<label>\(HTML.escape(context.text("cases.addNote"))) <input name=\"note\" maxlength=\"4000\"></label> "
      + "<button type=\"submit\">\(HTML.escape(context.text("cases.save")))</button></form>"
  }

  /// The action's verified effects (复盘), one row per horizon, the weaker fallback said so.
  static func verificationSection(_ context: PageContext, _ verifications: [Sightline_Cases_V1_Verification]) -> String {
    var section = "<section aria-labelledby=\"verified\"><h2 id=\"verified\">\(HTML.escape(context.text("cases.verified")))</h2>"
    guard !verifications.isEmpty else {
      return section + "<p class=\"muted\">\(HTML.escape(context.text("cases.verified.none")))</p></section>"
    }
    func number(_ value: Double) -> String { (value >= 0 ? "+" : "") + String(format: "%.3g", value) }
    section += Layout.table(
      caption: context.text("cases.verified"),
      header: [
        context.text("cases.verified.horizon"), context.text("cases.verified.verdict"), context.text("cases.verified.effect"), "p",
        context.text("cases.verified.method"),
      ],
      rows: verifications.map { verification in
        [
          "\(verification.horizonDays) \(HTML.escape(context.text("cases.verified.days")))",
          "<span data-verdict=\"\(HTML.escape(verification.verdict))\">"
            + HTML.escape(context.text("cases.verified." + verification.verdict)) + "</span>",
          HTML.escape(
            "\(verification.kpi) \(number(verification.effect)) (\(number(verification.ciLow)) … \(number(verification.ciHigh)))"),
          HTML.escape(String(format: "%.3g", verification.pValue)),
          HTML.escape(verification.method)
            + (verification.weakerEvidence
              ? " <strong data-weaker>\(HTML.escape(context.text("cases.verified.weaker")))</strong>"
              : " (\(verification.controlUnits))"),
        ]
      }, numericFrom: 99)
    return section + "</section>"
  }

  static func scopeText(_ context: PageContext, _ scope: Sightline_Cases_V1_CaseScope) -> String? {
    var parts: [String] = []
    if !scope.businessLines.isEmpty {
      parts.append("\(context.language.dimension(.businessLine)) = \(scope.businessLines.joined(separator: ", "))")
    }
    if !scope.regions.isEmpty { parts.append("\(context.language.dimension(.region)) = \(scope.regions.joined(separator: ", "))") }
    if !scope.segment.isEmpty { parts.append("\(context.text("cases.segment")) = \(scope.segment)") }
    if !scope.customerID.isEmpty { parts.append("\(context.language.dimension(.customer)) = \(scope.customerID)") }
    return parts.isEmpty ? nil : parts.joined(separator: "; ")
  }
}

/// The follow-up list (回访): open detractor cases, the earliest due first, with the
/// customer's recent answers and tickets.
enum FollowUpsPage {
  static func render(_ context: PageContext, gateway: GRPCClient<HTTP2ClientTransport.Posix>) async throws -> String {
    let reply = try await Sightline_Cases_V1_Cases.Client(wrapping: gateway).listFollowUps(
      .with { $0.limit = 100 }, metadata: Cockpit.metadata(context.session))
    var body =
      "<p class=\"lead\" data-zone=\"\(HTML.escape(LocalTime.name(context.zone)))\">\(HTML.escape(context.text("followups.lead")))</p>"
    guard !reply.followUps.isEmpty else {
      return Layout.page(
        context, title: context.text("followups.title"), body: body + "<p class=\"ok\">\(HTML.escape(context.text("followups.none")))</p>")
    }
    for followUp in reply.followUps {
      let item = followUp.case
      body += "<article class=\"followup\" data-followup=\"\(HTML.escape(item.id))\">"
      body += "<h2><a href=\"/case?id=\(HTML.percentEncode(item.id))\">\(HTML.escape(item.title))</a></h2>"
      body +=
        "<p>\(CasesPage.status(context, item)) · \(HTML.escape(context.text("cases.owner"))): \(HTML.escape(item.owner.isEmpty ? "–" : item.owner))"
        + " · \(HTML.escape(context.text("cases.due"))): \(HTML.escape(context.time(item.dueAt)))</p>"
      let answers = followUp.recentAnswers.map { answer in
        "<li data-answer=\"\(HTML.escape(answer.responseID))\">\(HTML.escape(context.time(answer.answeredAt))) · \(HTML.escape(answer.scale.uppercased())) \(answer.score)</li>"
      }.joined()
      let tickets = followUp.recentTickets.map { ticket in
        let state = context.text(ticket.resolved ? "followups.resolved" : "followups.open")
        return
          "<li data-ticket=\"\(HTML.escape(ticket.ticketID))\">\(HTML.escape(ticket.ticketID)) · \(HTML.escape(context.time(ticket.createdAt))) · "
          + "\(HTML.escape(ticket.channel)) \(HTML.escape(ticket.businessLine)) \(HTML.escape(ticket.problemType)) · \(HTML.escape(state))"
          + (ticket.complaint ? " · \(HTML.escape(context.text("followups.complaint")))" : "") + "</li>"
      }.joined()
      body += customerContext(context, followUp)
      body += "<h3>\(HTML.escape(context.text("followups.answers")))</h3><ul>\(answers)</ul>"
      body += "<h3>\(HTML.escape(context.text("followups.tickets")))</h3><ul>\(tickets)</ul>"
      body += recordForm(context, item) + "</article>"
    }
    return Layout.page(context, title: context.text("followups.title"), body: body)
  }

  /// The customer's risk and own words, from the segmentation service (or a note that they
  /// are unavailable).
  static func customerContext(_ context: PageContext, _ followUp: Sightline_Cases_V1_FollowUp) -> String {
    guard !followUp.contextUnavailable else {
      return "<p class=\"problem\" data-context=\"unavailable\">\(HTML.escape(context.text("followups.contextUnavailable")))</p>"
    }
    let risk =
      followUp.riskReasons.isEmpty
      ? context.text("followups.noRisk")
      : String(format: "%.0f", followUp.riskScore) + " · " + followUp.riskReasons.joined(separator: "; ")
    var html =
      "<p data-risk=\"\(String(format: "%.0f", followUp.riskScore))\">\(HTML.escape(context.text("followups.risk"))): \(HTML.escape(risk))</p>"
    if !followUp.recentComments.isEmpty {
      let comments = followUp.recentComments.map { comment in
        let score =
          comment.scale.isEmpty ? (comment.score > 0 ? " ★\(comment.score)" : "") : " \(comment.scale.uppercased()) \(comment.score)"
        return
          "<li data-comment><q>\(HTML.escape(comment.text))</q> · \(HTML.escape(context.time(comment.at))) · \(HTML.escape(comment.source))\(HTML.escape(score))</li>"
      }.joined()
      html += "<h3>\(HTML.escape(context.text("followups.comments")))</h3><ul>\(comments)</ul>"
    }
    return html
  }

  /// How the call went: a form for writers and admins (a reader sees none).
  static func recordForm(_ context: PageContext, _ item: Sightline_Cases_V1_Case) -> String {
    guard context.session.role != "reader" else { return "" }
    let options = ["reached", "not_reached", "recovered"].map {
      "<option value=\"\($0)\">\(HTML.escape(context.text("followups.outcome." + $0)))</option>"
    }.joined()
    return "<form class=\"record-call\" method=\"post\" action=\"/followups/record\">"
      + "<input type=\"hidden\" name=\"csrf\" value=\"\(context.session.csrf)\"><input type=\"hidden\" name=\"case\" value=\"\(HTML.escape(item.id))\">"
      + "<label>\(HTML.escape(context.text("followups.outcome"))) <select name=\"outcome\">\(options)</select></label> "
      + "<label>\(HTML.escape(context.text("followups.note"))) <input name=\"note\" maxlength=\"4000\"></label> "
      + "<button type=\"submit\">\(HTML.escape(context.text("followups.record")))</button></form>"
  }
}
