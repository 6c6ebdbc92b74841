import Foundation
import FSProbeTestSupport
import XCTest

/// `fsprobe --version` and `fsprobe --help` as a new user types them: no
/// path is needed, and the help shows every command.
final class HelpAndVersionTests: XCTestCase {
    func testVersionNamesTheReleaseAndTheBPFObject() throws {
        let result = try FSProbeProcess.run(["--version"])
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertEqual(result.stderr, "")
        let pattern = #"^fsprobe [0-9]+\.[0-9]+\.[0-9]+ \(BPF object sha256 [0-9a-f]{64}\)\n$"#
        XCTAssertNotNil(result.stdout.range(of: pattern, options: .regularExpression), result.stdout)
    }

    func testHelpListsTheSubcommands() throws {
        let result = try FSProbeProcess.run(["--help"])
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertTrue(result.stdout.contains("USAGE: fsprobe [<paths> ...]"), result.stdout)
        let listed = result.stdout.components(separatedBy: "SUBCOMMANDS:\n").last ?? ""
        for command in ["run", "query", "kernel-info", "pipeline", "components"] {
            XCTAssertTrue(listed.contains("\n  \(command) ") || listed.hasPrefix("  \(command) "), "\(command) in: \(listed)")
        }
    }
}
