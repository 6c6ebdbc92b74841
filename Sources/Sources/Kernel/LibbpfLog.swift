import CFSProbeBPF
import Logging

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// libbpf prints its diagnostics (verifier logs included) to stderr by
/// default. fsprobe keeps them instead, so a failure is reported as one line
/// with libbpf's last message as the detail. FSPROBE_LIBBPF_LOG=1 in the
/// environment also passes the whole log (libbpf's debug level) to the
/// process's logging, at notice level, for bug reports.
enum LibbpfLog {
    static let logger = Logger(label: "fsprobe.libbpf")

    static func capture() {
        fsp_log_clear()
        if getenv("FSPROBE_LIBBPF_LOG").map({ String(cString: $0) }) == "1" {
            fsp_log_capture(Int32(LIBBPF_DEBUG.rawValue), { _, message, _ in
                guard let message else { return }
                var text = String(cString: message)
                while text.last?.isNewline == true { text.removeLast() }
                LibbpfLog.logger.notice("libbpf: \(text)")
            }, nil)
        } else {
            fsp_log_capture(Int32(LIBBPF_WARN.rawValue), nil, nil)
        }
    }

    /// The most useful line libbpf printed: the verifier's reason for a
    /// rejected program (the last line of its log) when there is one, else
    /// libbpf's last message.
    static func lastLine() -> String {
        var buffer = [CChar](repeating: 0, count: Int(FSP_LOG_CAPACITY))
        guard fsp_log_copy(&buffer, buffer.count) > 0 else { return "" }
        let text = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        let lines = text.split(whereSeparator: \.isNewline).map(String.init)
        if let end = lines.lastIndex(where: { $0.contains("-- END PROG LOAD LOG --") }),
           let reason = lines[..<end].last(where: { !$0.hasPrefix("libbpf: ") && !$0.isEmpty && !isStatistics($0) }) {
            return "verifier: " + reason
        }
        let line = lines.last ?? ""
        return line.hasPrefix("libbpf: ") ? String(line.dropFirst(8)) : line
    }

    /// The verifier's closing statistics, which follow the actual reason.
    private static func isStatistics(_ line: String) -> Bool {
        line.hasPrefix("processed ") || line.hasPrefix("verification time") || line.hasPrefix("stack depth")
    }
}
