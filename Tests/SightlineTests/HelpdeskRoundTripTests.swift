import Foundation
import GRPCCore
import SightlineDemo
import SightlineModel
import SightlineRPC
import SightlineTesting
import SightlineWire
import SwiftProtobuf
import Testing

@testable import SightlineRecords

/// The demo's tickets, exported as a Chinese team would (Chinese headers, local times,
/// 是/否, 紧急/高/普通/低) to a GBK CSV (by `iconv`) and to a workbook with real date cells
/// (by openpyxl), then imported into fresh tenants through the readers the CLI uses: the
/// KPIs a flat export carries equal the original tenant's, value for value.
@Suite struct HelpdeskRoundTripTests {
  static let headers = ["工单编号", "客户ID", "创建时间", "首次响应时间", "解决时间", "业务线", "渠道", "地区", "客服", "产品模块", "问题类型", "优先级", "是否投诉"]
  static let zone = TimeZone(identifier: "Asia/Shanghai")!

  /// Local time in Shanghai with milliseconds, as Excel shows it.
  static func local(_ ms: Int64) -> String {
    let shifted = ms + Int64(zone.secondsFromGMT(for: Date(timeIntervalSince1970: Double(ms) / 1000))) * 1000
    let (days, rest) = shifted.quotientAndRemainder(dividingBy: 86_400_000)
    let (year, month, day) = RFC3339.civilFromDays(Int(days))
    let pad = TimeReader.Reading.pad
    let second = rest / 1000
    return "\(pad(year, 4))-\(pad(month, 2))-\(pad(day, 2)) \(pad(Int(second / 3600), 2)):\(pad(Int(second % 3600 / 60), 2)):"
      + "\(pad(Int(second % 60), 2)).\(pad(Int(rest % 1000), 3))"
  }

  /// One CSV row per ticket: its creation, first agent reply and first resolution.
  static func export(_ events: [Sightline_Ingestion_V1_Event]) -> String {
    var tickets: [String: (created: Sightline_Ingestion_V1_TicketEvent, reply: Int64?, resolved: Int64?)] = [:]
    var order: [String] = []
    for event in events {
      guard case .ticketEvent(let ticket) = event.record, let ms = RFC3339.parseMilliseconds(ticket.time) else { continue }
      switch ticket.kind {
      case .created:
        tickets[ticket.ticketID] = (ticket, nil, nil)
        order.append(ticket.ticketID)
      case .agentReply where tickets[ticket.ticketID]?.reply == nil: tickets[ticket.ticketID]?.reply = ms
      case .resolved where tickets[ticket.ticketID]?.resolved == nil: tickets[ticket.ticketID]?.resolved = ms
      default: break
      }
    }
    let priority: [Sightline_Ingestion_V1_Priority: String] = [.urgent: "紧急", .high: "高", .normal: "普通", .low: "低"]
    func quoted(_ text: String) -> String { text.contains(",") ? "\"\(text)\"" : text }
    var lines = [headers.joined(separator: ",")]
    for id in order {
      let (created, reply, resolved) = tickets[id]!
      let fields = [
        id, created.customerID, local(RFC3339.parseMilliseconds(created.time)!), reply.map(local) ?? "", resolved.map(local) ?? "",
        created.businessLine, created.channel, created.region, created.agent, created.productModule, created.problemType,
        priority[created.priority] ?? "", created.complaint ? "是" : "否",
      ]
      lines.append(fields.map(quoted).joined(separator: ","))
    }
    return lines.joined(separator: "\n") + "\n"
  }

  /// The events of `path` as the CLI reads them, in the zone of the tenant.
  static func events(of path: String) throws -> [Sightline_Ingestion_V1_Event] {
    let map = try ColumnMap.load(path: HelpdeskImportTests.root.path + "/maps/chinese-helpdesk.yaml")
    var options = ReadOptions(times: TimeReader(zone: zone, zoneSource: "the tenant's zone"), map: map)
    let format = RecordReader.format(of: path)
    let inspection = try RecordFileReader.inspect(path: path, format: format, options: options)
    #expect(inspection.problem == nil && inspection.encoding == (format == .csv ? .gb18030 : nil), "\(inspection)")
    options.encoding = inspection.encoding
    let reader = try RecordFileReader(path: path, format: format, kind: nil, options: options)
    var events: [Sightline_Ingestion_V1_Event] = []
    while case let records = try reader.next(1_000), !records.isEmpty {
      for record in records {
        switch record.result {
        case .success(let event): events.append(event)
        case .failure(let problem): Issue.record("\(path):\(record.line) \(problem.field): \(problem.reason)")
        }
      }
    }
    #expect(reader.report.unusedColumns.isEmpty && reader.report.localTimes > 0)
    return events
  }

  @Test func theDemosTicketsThroughAGBKExportAndAWorkbookGiveTheOriginalKPIs() async throws {
    var scenario = DemoScenario(endMs: todayMidnightMs())
    scenario.days = 35
    scenario.lineCount = 4
    scenario.treatedLineCount = 2
    scenario.customers = 300
    scenario.rolloutDay = 15
    let (startMs, endMs) = (scenario.startMs, scenario.endMs)
    let tickets = DemoDataset(scenario).events.filter { if case .ticketEvent = $0.record { true } else { false } }
    try await HelpdeskImportTests.fixtures { directory in
      let plain = directory + "/export.csv"
      try Self.export(tickets).write(toFile: plain, atomically: true, encoding: .utf8)
      try HelpdeskImportTests.run("iconv", ["-f", "UTF-8", "-t", "GBK", plain], stdout: directory + "/导出.csv")
      try HelpdeskImportTests.run(
        "python3",
        [
          HelpdeskImportTests.root.path + "/scripts/import-fixtures.py", "xlsx", plain, directory + "/导出.xlsx",
          "--dates", "创建时间,首次响应时间,解决时间", "--shared-strings",
        ])
      let fromCSV = try Self.events(of: directory + "/导出.csv")
      let fromWorkbook = try Self.events(of: directory + "/导出.xlsx")
      let differing = zip(fromCSV, fromWorkbook).first { $0 != $1 }
      #expect(
        fromCSV.count == fromWorkbook.count && differing == nil, "the GBK CSV and the workbook read alike: \(String(describing: differing))"
      )

      try await InProcessSuite.with { suite in
        try await suite.withGatewayClient { client in
          let request = Sightline_Metrics_V1_QueryKpisRequest.with {
            $0.kpis = [.volume, .firstResponseTime, .complaintRate, .slaFirstResponse]
            $0.groupBy = [.businessLine, .channel, .priority]
            $0.range = .with {
              $0.start = timestamp(RFC3339.format(milliseconds: startMs))
              $0.end = timestamp(RFC3339.format(milliseconds: endMs))
            }
            $0.interval = .week
          }
          var answers: [Sightline_Metrics_V1_QueryKpisResponse] = []
          for (name, events) in [("original", tickets), ("gbk", fromCSV), ("workbook", fromWorkbook)] {
            let tenant = try await suite.createTenant(name)
            let key = SuiteMetadata.bearer(tenant.adminKey)
            let offset = try await ingestThroughGateway(events, client: client, key: key)
            var asked = request
            asked.minOffset = offset
            answers.append(try await Sightline_Metrics_V1_Metrics.Client(wrapping: client).queryKpis(asked, metadata: key))
          }
          #expect(answers[0].rows.count > 50, "\(answers[0].rows.count) rows")
          #expect(answers[1].rows == answers[0].rows, "GBK CSV")
          #expect(answers[2].rows == answers[0].rows, "workbook")
        }
      }
    }
  }
}
