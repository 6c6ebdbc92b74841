import FSProbeFuzzTargets
import Foundation
import Testing

/// Every input in `Fuzz/Regressions/<target>/` (what the fuzzers once failed
/// on, and hand-made seeds) runs through its target again: a target traps
/// on a violation, which fails this test run.
@Suite struct FuzzRegressionTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Fuzz/Regressions")

    static func inputs(_ target: FuzzTarget) -> [URL] {
        let directory = root.appendingPathComponent(target.rawValue)
        return ((try? FileManager.default.contentsOfDirectory(at: directory, includingPropertiesForKeys: nil)) ?? [])
            .sorted { $0.path < $1.path }
    }

    @Test(arguments: FuzzTarget.allCases)
    func everyKeptInputStillPasses(target: FuzzTarget) throws {
        let inputs = Self.inputs(target)
        #expect(!inputs.isEmpty, "no inputs kept for \(target.rawValue) in \(Self.root.path)")
        for input in inputs { target.run([UInt8](try Data(contentsOf: input))) }
    }
}
