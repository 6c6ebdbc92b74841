import CFSProbeBPF

/// libbpf prints its diagnostics (verifier logs included) to stderr by
/// default. fsprobe keeps them instead, so a failure is reported as one line
/// with libbpf's last message as the detail.
enum LibbpfLog {
    static func capture() {
        fsp_log_clear()
        fsp_log_capture(Int32(LIBBPF_WARN.rawValue), nil, nil)
    }

    /// The last non-empty line libbpf printed.
    static func lastLine() -> String {
        var buffer = [CChar](repeating: 0, count: Int(FSP_LOG_CAPACITY))
        let total = fsp_log_copy(&buffer, buffer.count)
        guard total > 0 else { return "" }
        let text = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        let line = text.split(whereSeparator: \.isNewline).last.map(String.init) ?? ""
        return line.hasPrefix("libbpf: ") ? String(line.dropFirst(8)) : line
    }
}
