import Foundation
import GRDB
import IngestionService
import SightlineModel
import SightlineStorage
import SightlineWire
import SwiftProtobuf
import Testing

@Suite struct RFC3339Tests {
  @Test(arguments: [
    ("2026-03-01T09:30:00+08:00", Int64(1_772_328_600_000)),
    ("2026-03-01T01:30:00Z", Int64(1_772_328_600_000)),
    ("2026-03-01T01:30:00.250Z", Int64(1_772_328_600_250)),
    ("2000-02-29T00:00:00-05:00", Int64(951_800_400_000)),
    ("1970-01-01T00:00:00Z", Int64(0)),
  ])
  func parsesOffsetsToUTC(text: String, expected: Int64) {
    #expect(RFC3339.parseMilliseconds(text) == expected)
  }

  @Test(arguments: [
    "", "2026-03-01", "2026-13-01T00:00:00Z", "2026-02-30T00:00:00Z", "2026-03-01T09:30:00",
    "2026-03-01T24:00:00Z", "2026-03-01T09:30:00+0800", "yesterday",
  ])
  func rejectsMalformed(text: String) {
    #expect(RFC3339.parseMilliseconds(text) == nil)
  }

  @Test func formatsRoundTrip() {
    #expect(RFC3339.format(milliseconds: 1_772_328_600_000) == "2026-03-01T01:30:00Z")
    #expect(RFC3339.format(milliseconds: 1_772_328_600_250) == "2026-03-01T01:30:00.250Z")
  }
}

@Suite struct RoleTests {
  @Test func rolesAreOrdered() {
    #expect(Role.admin.satisfies(.writer))
    #expect(Role.writer.satisfies(.reader))
    #expect(!Role.reader.satisfies(.writer))
    #expect(!Role.writer.satisfies(.admin))
  }

  @Test func tenantIDsAreSafeForPaths() {
    #expect(TenantID("t_0123abcd") != nil)
    #expect(TenantID("../etc") == nil)
    #expect(TenantID("T_upper") == nil)
    #expect(TenantID("") == nil)
  }
}
