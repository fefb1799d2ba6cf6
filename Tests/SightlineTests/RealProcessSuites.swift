import Testing

/// The suites that start the real executables (five processes each; Chromium too for the
/// cockpit) run one after another, not at once: together they put some forty processes on
/// two cores, and the timing-sensitive tests beside them (deadlines, readiness, streams)
/// then failed for want of CPU rather than for a bug. Each is declared in an extension.
@Suite(.serialized) enum RealProcessSuites {}
