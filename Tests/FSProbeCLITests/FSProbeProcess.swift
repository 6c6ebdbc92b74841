import Foundation
import FSProbeTestSupport
import XCTest

/// The CLI tests' side of the shared runner (FSProbeTestSupport): waits
/// that fail the test instead of returning false.
extension FSProbeProcess {
    /// - Parameter readingStdout: false leaves standard output a pipe nobody
    ///   reads (a consumer that stalls): fsprobe blocks once it is full.
    convenience init(_ arguments: [String], environment: [String: String] = [:], prefix: [String] = [],
                     readingStdout: Bool) throws {
        try self.init(arguments, environment: environment, prefix: prefix, stdout: readingStdout ? .read : .unread)
    }

    /// Waits until fsprobe says it is ready (programs attached, watches set).
    func waitUntilReady(timeout: TimeInterval = 30, file: StaticString = #filePath, line: UInt = #line) {
        waitForStderr(containing: "fsprobe: ready", timeout: timeout, file: file, line: line)
    }

    /// Waits until stderr holds `text` (fails the test after `timeout`).
    func waitForStderr(containing text: String, timeout: TimeInterval = 30, file: StaticString = #filePath,
                       line: UInt = #line) {
        if !stderrArrives(containing: text, timeout: timeout) {
            XCTFail("fsprobe never wrote '\(text)'; stderr: \(errors)", file: file, line: line)
        }
    }
}

/// A fresh directory for one CLI test.
func makeScratch(_ name: String) throws -> String {
    try FSProbeTestSupport.makeScratch(name, prefix: "fsprobe-cli")
}

extension XCTestCase {
    /// fsprobe run with `arguments` fails with one line on stderr, prefixed
    /// `fsprobe: `, holding every string of `expected`, and nothing on stdout.
    func assertOneLineError(_ arguments: [String], mentions expected: [String], environment: [String: String] = [:],
                            prefix: [String] = [], file: StaticString = #filePath, line: UInt = #line) throws {
        let result = try FSProbeProcess.run(arguments, environment: environment, prefix: prefix)
        XCTAssertNotEqual(result.status, 0, "exit status for \(arguments)", file: file, line: line)
        let lines = result.stderr.split(separator: "\n")
        XCTAssertEqual(lines.count, 1, "expected one line on stderr for \(arguments), got: \(result.stderr)", file: file, line: line)
        XCTAssertTrue(result.stderr.hasPrefix("fsprobe: "), result.stderr, file: file, line: line)
        for word in expected {
            XCTAssertTrue(result.stderr.contains(word), "'\(word)' missing from: \(result.stderr)", file: file, line: line)
        }
        XCTAssertEqual(result.stdout, "", file: file, line: line)
    }
}
