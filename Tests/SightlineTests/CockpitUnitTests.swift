import Foundation
import SightlineModel
import SightlineWire
import SwiftProtobuf
import Testing

@testable import Cockpit

/// The cockpit's pieces that need no browser: languages, escaping, forms, traffic lights.
@Suite struct CockpitUnitTests {
  @Test func theBrowsersLanguageIsHonouredWithQValues() {
    #expect(Language.preferred(acceptLanguage: nil) == .en)
    #expect(Language.preferred(acceptLanguage: "zh-CN,zh;q=0.9,en;q=0.8") == .zh)
    #expect(Language.preferred(acceptLanguage: "en-US,en;q=0.9,zh-Hans;q=0.5") == .en)
    #expect(Language.preferred(acceptLanguage: "fr-FR, zh-TW;q=0.7, en;q=0.3") == .zh)
    #expect(Language.preferred(acceptLanguage: "de") == .en)
  }

  @Test func everyLabelHasBothLanguagesAndEveryKpiAndDimensionIsNamed() {
    for (key, entry) in Language.texts {
      #expect(!entry.en.isEmpty && !entry.zh.isEmpty, "\(key)")
      #expect(entry.zh.unicodeScalars.contains { $0.value > 0x2E80 } || key == "nav.language", "\(key) has no Chinese: \(entry.zh)")
    }
    for kind in KpiKind.allCases { #expect(Language.texts["kpi." + kind.rawValue] != nil, "\(kind)") }
    for dimension in KpiDimension.allCases { #expect(Language.texts["dimension." + dimension.rawValue] != nil, "\(dimension)") }
    #expect(Language.zh.kpi(.firstResponseTime) == "首次响应时长")
    #expect(Language.zh.kpi(.fcrRate) == "首次联系解决率")
    #expect(Language.zh.kpi(.complaintClosureRate) == "投诉闭环率")
    #expect(Language.zh.kpi(.csat) == "客户满意度")
    #expect(Language.zh.kpi(.nps) == "净推荐值")
  }

  @Test func dataNeverBecomesMarkup() {
    #expect(HTML.escape("<script>alert('x')</script> & \"q\"") == "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &quot;q&quot;")
    #expect(HTML.query([("kpi", "csat"), ("by", "a b&c"), ("empty", "")]) == "?kpi=csat&by=a%20b%26c")
    let chart = Charts.line(
      title: "<b>", description: "\"d\"", labels: ["</svg>"], series: [.init(name: "<i>", points: [1])], format: { "\($0)" })
    #expect(!chart.contains("<b>") && !chart.contains("<i>") && chart.contains("&lt;/svg&gt;"))
  }

  @Test func csvFieldsAreQuotedAndFormulasDefused() {
    #expect(ExplorerPage.csvField("L01") == "L01")
    #expect(ExplorerPage.csvField("a,b") == "\"a,b\"")
    #expect(ExplorerPage.csvField("say \"hi\"") == "\"say \"\"hi\"\"\"")
    #expect(ExplorerPage.csvField("=HYPERLINK(\"x\")") == "\"'=HYPERLINK(\"\"x\"\")\"")
    #expect(ExplorerPage.csvField("-1+1") == "'-1+1")
    #expect(ExplorerPage.csvField("@cmd") == "'@cmd")
  }

  @Test func signInOnlyReturnsToPathsOfThisSite() {
    #expect(Cockpit.localPath("/explore?kpi=csat") == "/explore?kpi=csat")
    #expect(Cockpit.localPath("https://evil.example/") == "/")
    #expect(Cockpit.localPath("//evil.example/") == "/")
    #expect(Cockpit.localPath("/\\evil.example") == "/")
    #expect(Cockpit.localPath("") == "/")
  }

  @Test func formsDecodeInOrderWithPlusAndPercent() {
    let pairs = FormData.decode("key=slk_a%2Bb&csrf=12&next=%2Fexplore%3Fkpi%3Dcsat&note=a+b&=x&flag")
    #expect(pairs.map(\.0) == ["key", "csrf", "next", "note", "flag"])
    #expect(pairs.map(\.1) == ["slk_a+b", "12", "/explore?kpi=csat", "a b", ""])
  }

  @Test func trafficLightsFollowTheKpisDirection() {
    let csat = KpiTarget.defaults[.csat]!
    #expect(csat.status(0.90, kind: .csat, sampleSize: 10) == .green)
    #expect(csat.status(0.80, kind: .csat, sampleSize: 10) == .amber)
    #expect(csat.status(0.70, kind: .csat, sampleSize: 10) == .red)
    #expect(csat.status(0.90, kind: .csat, sampleSize: 0) == KpiTarget.Status.none)
    let firstResponse = KpiTarget.defaults[.firstResponseTime]!
    #expect(firstResponse.status(1_800, kind: .firstResponseTime, sampleSize: 5) == .green)
    #expect(firstResponse.status(7_200, kind: .firstResponseTime, sampleSize: 5) == .amber)
    #expect(firstResponse.status(5 * 3_600, kind: .firstResponseTime, sampleSize: 5) == .red)
    #expect(KpiTarget.defaults[.volume] == nil && KpiTarget.defaults[.backlog] == nil)
    #expect(KpiTarget.problem(with: .init(goal: 1.2, tolerance: 0.1), for: .csat) != nil)
    #expect(KpiTarget.problem(with: .init(goal: 0.9, tolerance: -0.1), for: .csat) != nil)
    #expect(KpiTarget.problem(with: .init(goal: 100, tolerance: 0), for: .volume) != nil)
    #expect(KpiTarget.problem(with: .init(goal: .nan, tolerance: 0), for: .nps) != nil)
    #expect(KpiTarget.problem(with: .init(goal: 1_800, tolerance: 600), for: .firstResponseTime) == nil)
  }

  @Test func sessionsExpireCloseAndHaveACapacity() async throws {
    let store = SessionStore(lifetime: .milliseconds(200), capacity: 2)
    let first = store.open(key: "k1", tenantID: "t_1", role: "reader", keyID: "k_1")
    #expect(store.session(first.id)?.key == "k1")
    #expect(first.id.count == 64 && first.csrf.count == 64 && first.id != first.csrf)
    #expect(store.session("nope") == nil && store.session(nil) == nil)
    let second = store.open(key: "k2", tenantID: "t_1", role: "admin", keyID: "k_2")
    #expect(store.session(second.id)?.isAdmin == true)
    store.close(second.id)
    #expect(store.session(second.id) == nil)
    // Capacity: a third session pushes out the oldest.
    _ = store.open(key: "k3", tenantID: "t_1", role: "reader", keyID: "k_3")
    _ = store.open(key: "k4", tenantID: "t_1", role: "reader", keyID: "k_4")
    #expect(store.session(first.id) == nil)
    let late = store.open(key: "k5", tenantID: "t_1", role: "reader", keyID: "k_5")
    try await Task.sleep(for: .milliseconds(300))
    #expect(store.session(late.id) == nil)
  }

  /// The explorer reads and writes its URL's dates as the tenant's local days, and every
  /// page names the zone: a Shanghai tenant's 2026-03-01 starts at 2026-02-28T16:00Z.
  @Test func datesAreTheTenantsLocalDaysAndThePageNamesItsZone() throws {
    let session = SessionStore().open(key: "k", tenantID: "t_1", role: "reader", keyID: "k_1")
    var context = PageContext(session: session, language: .en, path: "/explore", query: [("from", "2026-03-01"), ("to", "2026-03-07")])
    context.zone = try #require(TimeZone(identifier: "Asia/Shanghai"))
    let query = ExplorerQuery(context)
    #expect(query.fromMs == RFC3339.parseMilliseconds("2026-02-28T16:00:00Z"))
    #expect(query.toMs == RFC3339.parseMilliseconds("2026-03-07T16:00:00Z"))
    #expect(query.parameters.filter { $0.0 == "from" || $0.0 == "to" }.map(\.1) == ["2026-03-01", "2026-03-07"])
    // Without dates: the last 90 local days up to today, today included.
    context.query = []
    let now = try #require(RFC3339.parseMilliseconds("2026-03-07T17:30:00Z"))  // 01:30 on 8 March in Shanghai
    let recent = ExplorerQuery(context, nowMs: now)
    #expect(recent.toMs == RFC3339.parseMilliseconds("2026-03-08T16:00:00Z"))
    #expect(recent.parameters.first { $0.0 == "to" }?.1 == "2026-03-08")
    #expect(context.day(milliseconds: now) == "2026-03-08")
    let page = Layout.page(context, title: "t", body: "")
    #expect(page.contains("data-zone=\"Asia/Shanghai\""))
  }
  /// A staffing gap reads as agents short over hours, in both languages, not as a KPI.
  @Test func aStaffingGapAlertNamesItsHoursAndAgents() {
    let session = SessionStore().open(key: "k", tenantID: "t_1", role: "reader", keyID: "k_1")
    let alert = Sightline_Metrics_V1_Alert.with {
      $0.id = "a1"; $0.ruleKind = .staffingGap; $0.kpi = .volume; $0.dimensionValue = "2026-12-07 19:00"
      $0.sampleSize = 3; $0.value = 4.6; $0.expectedHigh = 2; $0.severity = .critical
    }
    let english = OverviewPage.alerts(PageContext(session: session, language: .en, path: "/", query: []), [alert])
    #expect(english.contains("Staffing gap · from 2026-12-07 19:00 for 3 h: 4.6 agents short (rule: 2.0 or more)"), "\(english)")
    let chinese = OverviewPage.alerts(PageContext(session: session, language: .zh, path: "/", query: []), [alert])
    #expect(chinese.contains("排班缺口 · 自 2026-12-07 19:00 起 3 小时：缺 4.6 名坐席"), "\(chinese)")
    #expect(!english.contains("Tickets"))
  }

  /// The overview's hours toggle keeps the period, and a time KPI's card says which clock
  /// its value ran on, in both languages.
  @Test func theHoursToggleAndTheCardsSayWhichClock() {
    let session = SessionStore().open(key: "k", tenantID: "t_1", role: "reader", keyID: "k_1")
    let context = PageContext(session: session, language: .en, path: "/", query: [("days", "7"), ("hours", "business")])
    #expect(OverviewPage.hours(context) == .business)
    let picker = OverviewPage.hoursPicker(context, days: 7, hours: .business)
    #expect(picker.contains("<strong aria-current=\"true\">business hours</strong>"), "\(picker)")
    #expect(picker.contains("href=\"/?days=7&amp;hours=calendar\""), "\(picker)")
    let business = Sightline_Metrics_V1_KpiValue.with {
      $0.kpi = .firstResponseTime; $0.hours = .business; $0.value = 600; $0.sampleSize = 4
    }
    let headline = Sightline_Metrics_V1_QueryKpisResponse.with { $0.rows = [.with { $0.values = [business] }] }
    let cards = OverviewPage.headline(context, days: 7, targets: [:], now: headline, before: nil)
    #expect(cards.contains("</h3><p class=\"hours\" data-hours=\"business\">(business hours)</p>"), "\(cards)")
    var chinese = context
    chinese.language = .zh
    #expect(OverviewPage.headline(chinese, days: 7, targets: [:], now: headline, before: nil).contains("（工作时间）"))
    #expect(OverviewPage.hours(PageContext(session: session, language: .en, path: "/", query: [])) == .calendar)
  }
}

/// Local dates and times: a zone ahead of UTC, one behind with a daylight-saving change,
/// and instants before 1970.
@Suite struct LocalTimeTests {
  @Test func datesAndMinutesAreLocal() throws {
    let shanghai = try #require(TimeZone(identifier: "Asia/Shanghai"))
    let losAngeles = try #require(TimeZone(identifier: "America/Los_Angeles"))
    let rollout = try #require(RFC3339.parseMilliseconds("2026-06-29T16:00:00Z"))
    #expect(LocalTime.date(milliseconds: rollout, zone: shanghai) == "2026-06-30")
    #expect(LocalTime.minute(milliseconds: rollout, zone: shanghai) == "2026-06-30 00:00")
    #expect(LocalTime.minute(milliseconds: rollout, zone: losAngeles) == "2026-06-29 09:00")
    #expect(LocalTime.minute(milliseconds: -1, zone: .gmt) == "1969-12-31 23:59")
    #expect(LocalTime.name(.gmt) == "UTC" && LocalTime.name(shanghai) == "Asia/Shanghai")
  }

  /// 2026-03-08 in Los Angeles starts at 08:00Z (PST) and 2026-03-09 at 07:00Z (PDT): that
  /// day has 23 hours.
  @Test func daysStartAtLocalMidnightAcrossADaylightSavingChange() throws {
    let losAngeles = try #require(TimeZone(identifier: "America/Los_Angeles"))
    let day = try #require(LocalTime.parseDate("2026-03-08"))
    #expect(LocalTime.startOfDay(day, zone: losAngeles) == RFC3339.parseMilliseconds("2026-03-08T08:00:00Z"))
    #expect(LocalTime.startOfDay(day + 1, zone: losAngeles) == RFC3339.parseMilliseconds("2026-03-09T07:00:00Z"))
    #expect(LocalTime.day(milliseconds: RFC3339.parseMilliseconds("2026-03-09T06:59:59Z")!, zone: losAngeles) == day)
    #expect(LocalTime.parseDate("2026-02-30") == nil && LocalTime.parseDate("2026-3-1") == nil)
  }
}
