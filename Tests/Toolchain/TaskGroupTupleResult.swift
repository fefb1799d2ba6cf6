// A miscompile in Swift 6.3.1 (release builds, -O), reduced from the gateway's Dashboard
// fan-out (issue 16). A task group whose child result is a tuple holding an
// `Result<_, any Error>`, `(Int, Result<[Part], any Error>)`, hands the code after it a
// garbage tuple: here the process dies with SIGILL (in the gateway, `sections[index]`
// trapped; in the gateway's readiness probe, `(SuiteComponent, Result<…>)` made a
// `Set.insert` jump to a bad address). -Onone is fine.
//
// Built with -DWORKAROUND, the children return a plain struct with the failure already a
// sentence instead, which is what Sightline's code does now; that form runs correctly
// under -O. `ToolchainTests` compiles and runs both forms, so a toolchain that fixes the
// bug (or one that breaks the workaround) shows up as a test failure.
//
//   swiftc -O -parse-as-library TaskGroupTupleResult.swift && ./TaskGroupTupleResult             # SIGILL
//   swiftc -O -parse-as-library -DWORKAROUND TaskGroupTupleResult.swift && ./TaskGroupTupleResult  # ok
import Foundation

enum Part: Sendable { case data(Data) }

#if WORKAROUND
struct Outcome: Sendable {
  var index: Int
  var parts: [Part] = []
  var failure: String?
}
#endif

@main struct Repro {
  static func main() async {
    let fetches: [@Sendable () async throws -> [Part]] = (0..<6).map { i in { [.data(Data([UInt8(i)]))] } }
    for _ in 0..<100 {
      #if WORKAROUND
      let indices = await withTaskGroup(of: Outcome.self) { group in
        for (index, fetch) in fetches.enumerated() {
          group.addTask {
            do { return Outcome(index: index, parts: try await fetch()) } catch { return Outcome(index: index, failure: "\(error)") }
          }
        }
        var collected: [Int] = []
        for await outcome in group { collected.append(outcome.index) }
        return collected
      }
      #else
      let indices = await withTaskGroup(of: (Int, Result<[Part], any Error>).self) { group in
        for (index, fetch) in fetches.enumerated() {
          group.addTask {
            do { return (index, .success(try await fetch())) } catch { return (index, .failure(error)) }
          }
        }
        var collected: [(Int, Result<[Part], any Error>)] = []
        for await outcome in group { collected.append(outcome) }
        return collected.map(\.0)
      }
      #endif
      precondition(indices.sorted() == Array(fetches.indices), "garbage indices \(indices)")
    }
    print("ok")
  }
}
