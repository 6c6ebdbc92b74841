import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A real Kafka-compatible broker (Tansu, in-memory storage, topics
/// auto-created with 4 partitions) on a free loopback port, one per test so
/// tests run in parallel without sharing topics. Stopped by `stop()` or deinit.
///
/// The binary comes from scripts/install-kafka.sh (`fsprobe-test-broker`),
/// or FSPROBE_KAFKA_BROKER names another. A missing binary fails the test:
/// skipping would let a machine without a broker pass the Kafka tests.
public final class KafkaTestBroker: @unchecked Sendable {
    public struct Failure: Error, CustomStringConvertible {
        public let description: String
        public init(description: String) { self.description = description }
    }

    public static let installHint = "run scripts/install-kafka.sh (as root) to install the test broker"

    public let port: UInt16
    public var bootstrap: String { "127.0.0.1:\(port)" }
    /// How long the broker took to accept its first connection.
    public let startup: Duration
    private let process: Process
    private let log: URL

    /// - Parameter advertisedPort: the port the broker tells clients to
    ///   connect to (a `TCPOutageProxy` in front of it); its own by default.
    public init(advertisedPort: UInt16? = nil) throws {
        let executable = try Self.executable()
        // The port is free when chosen but could be taken before the broker
        // binds it: a broker that exits at once is retried on another port.
        var lastLog = ""
        for _ in 1...3 {
            let port = try Self.freeLoopbackPort()
            let log = FileManager.default.temporaryDirectory.appendingPathComponent("fsprobe-kafka-broker-\(port)-\(UUID().uuidString).log")
            _ = FileManager.default.createFile(atPath: log.path, contents: nil)
            let output = try FileHandle(forWritingTo: log)
            let process = Process()
            process.executableURL = URL(fileURLWithPath: executable)
            let url = "tcp://127.0.0.1:\(port)"
            let advertised = advertisedPort.map { "tcp://127.0.0.1:\($0)" } ?? url
            process.arguments = ["broker", "--listener-url", url, "--advertised-listener-url", advertised, "--storage-engine", "memory://tansu/"]
            process.standardOutput = output
            process.standardError = output
            process.standardInput = FileHandle.nullDevice
            let clock = ContinuousClock()
            let started = clock.now
            try process.run()
            try? output.close()
            let deadline = started + .seconds(10)
            while process.isRunning, clock.now < deadline, !Self.accepts(port: port) {
                usleep(2_000)  // polling a connect until the deadline: no event to wait on
            }
            if process.isRunning, Self.accepts(port: port) {
                self.port = port
                self.startup = clock.now - started
                self.process = process
                self.log = log
                return
            }
            if process.isRunning { kill(process.processIdentifier, SIGKILL) }
            process.waitUntilExit()
            lastLog = (try? String(contentsOf: log, encoding: .utf8)) ?? ""
            try? FileManager.default.removeItem(at: log)
        }
        throw Failure(description: "the Kafka test broker did not start; its output:\n\(lastLog)")
    }

    deinit { stop() }

    public func stop() {
        if process.isRunning {
            // SIGKILL, not terminate(): the child inherits the test runner's
            // thread signal mask, which blocks SIGTERM, so SIGTERM would stay
            // pending forever. An in-memory broker has nothing to save.
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
        try? FileManager.default.removeItem(at: log)
    }

    /// FSPROBE_KAFKA_BROKER, else `fsprobe-test-broker` on PATH or in /usr/local/bin.
    public static func executable() throws -> String {
        let environment = ProcessInfo.processInfo.environment
        if let path = environment["FSPROBE_KAFKA_BROKER"] {
            guard FileManager.default.isExecutableFile(atPath: path) else {
                throw Failure(description: "FSPROBE_KAFKA_BROKER=\(path) is not an executable file; \(installHint)")
            }
            return path
        }
        let directories = (environment["PATH"] ?? "").split(separator: ":").map(String.init) + ["/usr/local/bin"]
        for directory in directories {
            let path = directory + "/fsprobe-test-broker"
            if FileManager.default.isExecutableFile(atPath: path) { return path }
        }
        throw Failure(description: "no Kafka test broker (fsprobe-test-broker) on PATH or in /usr/local/bin: \(installHint)")
    }

    /// A loopback TCP port nothing listens on (bound, read back, released).
    public static func freeLoopbackPort() throws -> UInt16 {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw Failure(description: "socket: errno \(errno)") }
        defer { close(fd) }
        var address = loopback(port: 0)
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { pointer in
                bind(fd, pointer, length) == 0 && getsockname(fd, pointer, &length) == 0
            }
        }
        guard bound else { throw Failure(description: "bind to a loopback port: errno \(errno)") }
        return UInt16(bigEndian: address.sin_port)
    }

    /// Whether something accepts TCP connections on 127.0.0.1:port.
    public static func accepts(port: UInt16) -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var address = loopback(port: port)
        return withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0
            }
        }
    }

    private static func loopback(port: UInt16) -> sockaddr_in {
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = port.bigEndian
        address.sin_addr.s_addr = UInt32(0x7f00_0001).bigEndian
        return address
    }
}
