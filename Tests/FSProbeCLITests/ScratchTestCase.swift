import Foundation
import FSProbeTestSupport
import XCTest

/// A CLI test with a directory of its own, made fresh and removed after.
class ScratchTestCase: XCTestCase {
    var dir: String!

    override func setUpWithError() throws {
        dir = try makeScratch(name)
    }

    override func tearDown() {
        if let dir { try? FileManager.default.removeItem(atPath: dir) }
    }

    /// `--backend` for the backend under test (FSPROBE_TEST_BACKEND); none: fsprobe chooses.
    var backendFlags: [String] { FSProbeProcess.testBackend.map { ["--backend", $0] } ?? [] }
}
