import SightlineRecords
import SightlineWire
import Testing

/// The `handle_seconds` column of ticket-event files: seconds or a written duration, and a
/// clear refusal naming the row and field otherwise.
struct HandleTimeRecordTests {
  @Test func handleSecondsAreReadAsSecondsOrDurations() throws {
    let csv = """
      event_id,ticket_id,customer_id,time,kind,channel,handle_seconds
      e1,T1,C1,2026-03-02T09:10:00Z,agent_reply,phone,270
      e2,T1,C1,2026-03-02T09:20:00Z,agent_reply,phone,4m30s
      e3,T1,C1,2026-03-02T09:30:00Z,agent_reply,phone,12.5
      e4,T1,C1,2026-03-02T09:40:00Z,agent_reply,phone,soon
      e5,T1,C1,2026-03-02T09:50:00Z,agent_reply,phone,

      """
    let records = try RecordReader.records(text: csv, format: .csv, kind: .ticketEvent)
    #expect(records.count == 5)
    var seconds: [Double?] = []
    for record in records {
      if case .success(let event) = record.result {
        seconds.append(event.ticketEvent.hasHandleSeconds ? event.ticketEvent.handleSeconds : nil)
      }
    }
    #expect(seconds == [270, 270, 12.5, nil])
    guard case .failure(let problem) = records[3].result else {
      Issue.record("a handle time of 'soon' was read")
      return
    }
    #expect(records[3].line == 5 && problem.eventID == "e4" && problem.field == "ticket_event.handle_seconds")
    #expect(problem.reason.contains("'soon'"))
  }
}
