import Foundation
import SightlineModel
import SightlineRPC
import SightlineWire
import SwiftProtobuf

/// What every page knows about its request: who is signed in, in which language, where.
struct PageContext: Sendable {
  var session: SessionStore.Session
  var language: Language
  /// The path, e.g. "/explore".
  var path: String
  /// The query parameters, in order (filters live in the URL so views can be shared).
  var query: [(String, String)]
  /// The tenant's time zone (its settings): every date and time on the page is local to it.
  var zone: TimeZone = .gmt

  func parameter(_ name: String) -> String? { query.last { $0.0 == name }?.1 }

  func text(_ key: String) -> String { language.text(key) }

  /// A date (a bucket's start, a range's end) as YYYY-MM-DD in the tenant's zone.
  func day(_ timestamp: Google_Protobuf_Timestamp) -> String { day(milliseconds: timestamp.seconds * 1000) }
  func day(milliseconds: Int64) -> String { LocalTime.date(milliseconds: milliseconds, zone: zone) }

  /// A time as YYYY-MM-DD HH:MM in the tenant's zone (which the page names once).
  func time(_ timestamp: Google_Protobuf_Timestamp) -> String { LocalTime.minute(milliseconds: timestamp.seconds * 1000, zone: zone) }

  /// This page's URL with `language` chosen (the language switch).
  func url(language: Language) -> String {
    path + HTML.query(query.filter { $0.0 != "lang" } + [("lang", language.rawValue)])
  }
}

/// The page shell: navigation, language switch, sign-out form, stylesheet and the small
/// script that refreshes live pages. No inline script or style: the Content-Security-Policy
/// allows only the cockpit's own files.
enum Layout {
  static func page(_ context: PageContext, title: String, live: Bool = false, body: String) -> String {
    let other: Language = context.language == .en ? .zh : .en
    let links: [(String, String)] =
      [
        ("/", "nav.overview"), ("/explore", "nav.explore"), ("/segments", "nav.segments"), ("/voice", "nav.voice"),
        ("/workload", "nav.workload"), ("/experiments", "nav.experiments"), ("/cases", "nav.cases"),
        ("/followups", "nav.followups"),
      ] + (context.session.isAdmin ? [("/admin/keys", "nav.keys")] : [])
    let nav = links.map { href, key in
      "<a href=\"\(href)\"\(href == context.path ? " aria-current=\"page\"" : "")>\(HTML.escape(context.text(key)))</a>"
    }.joined()
    return """
      <!doctype html>
      <html lang="\(context.language.tag)">
      <head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
      <title>\(HTML.escape(title)) · \(HTML.escape(context.text("app.title")))</title>
      <link rel="stylesheet" href="/static/cockpit.css"></head>
      <body\(live ? " data-live=\"/events\"" : "")>
      <header><strong class="brand">\(HTML.escape(context.text("app.title")))</strong>
      <nav aria-label="main">\(nav)</nav>
      <div class="tools"><a id="language" hreflang="\(other.tag)" href="\(HTML.escape(context.url(language: other)))">\(HTML.escape(context.text("nav.language")))</a>
      <form method="post" action="/signout"><input type="hidden" name="csrf" value="\(context.session.csrf)"><button type="submit">\(HTML.escape(context.text("nav.signout")))</button></form></div>
      </header>
      <main id="main"><h1>\(HTML.escape(title))</h1>
      \(body)
      <p class="meta" data-zone="\(HTML.escape(LocalTime.name(context.zone)))">\(HTML.escape(String(format: context.text("zone.note"), LocalTime.name(context.zone))))</p>
      </main>
      <script src="/static/cockpit.js"></script>
      </body></html>
      """
  }

  /// A page for people who are not signed in (sign-in, errors).
  static func bare(_ language: Language, title: String, body: String) -> String {
    """
    <!doctype html>
    <html lang="\(language.tag)">
    <head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
    <title>\(HTML.escape(title)) · \(HTML.escape(language.text("app.title")))</title>
    <link rel="stylesheet" href="/static/cockpit.css"></head>
    <body class="bare"><main id="main"><h1>\(HTML.escape(language.text("app.title")))</h1><h2>\(HTML.escape(title))</h2>
    \(body)
    </main></body></html>
    """
  }

  /// A section that could not be filled, with the reason.
  static func unavailable(_ context: PageContext, _ reason: String) -> String {
    "<p class=\"unavailable\" role=\"status\">\(HTML.escape(context.text("unavailable"))): \(HTML.escape(reason))</p>"
  }

  /// A table with a caption, header and rows (cells already HTML).
  static func table(caption: String, header: [String], rows: [[String]], numericFrom: Int = 1) -> String {
    let head = header.enumerated().map { index, cell in
      "<th scope=\"col\"\(index >= numericFrom ? " class=\"num\"" : "")>\(HTML.escape(cell))</th>"
    }.joined()
    let body = rows.map { row in
      "<tr>"
        + row.enumerated().map { index, cell in
          index == 0 ? "<th scope=\"row\">\(cell)</th>" : "<td\(index >= numericFrom ? " class=\"num\"" : "")>\(cell)</td>"
        }.joined() + "</tr>"
    }.joined()
    return
      "<div class=\"scroll\"><table><caption>\(HTML.escape(caption))</caption><thead><tr>\(head)</tr></thead><tbody>\(body)</tbody></table></div>"
  }

  /// A KPI value as shown, "–" without data.
  static func value(_ value: Sightline_Metrics_V1_KpiValue, _ kind: KpiKind) -> String {
    value.sampleSize > 0 ? KpiFormat.value(value.value, kind) : "–"
  }
}
