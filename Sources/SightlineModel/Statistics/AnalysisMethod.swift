/// How an experiment metric's effect is estimated (docs/statistics.md says when `auto` picks which); the raw values are
/// the names the CLI and the documentation use.
public enum AnalysisMethod: String, CaseIterable, Sendable {
  case welch, cuped, did, permutation
  case zTest = "z_test"
  case delta
}
