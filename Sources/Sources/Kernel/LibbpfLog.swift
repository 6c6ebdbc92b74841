import CFSProbeBPF

/// libbpf prints its diagnostics (verifier logs included) to stderr by
/// default. fsprobe keeps them instead, so a failure is reported as one line
/// with libbpf's last message as the detail.
enum LibbpfLog {
    static func capture() {
        fsp_log_clear()
        fsp_log_capture(Int32(LIBBPF_WARN.rawValue), nil, nil)
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
           let reason = lines[..<end].last(where: { !$0.hasPrefix("libbpf: ") && !$0.isEmpty }) {
            return "verifier: " + reason
        }
        let line = lines.last ?? ""
        return line.hasPrefix("libbpf: ") ? String(line.dropFirst(8)) : line
    }
}
