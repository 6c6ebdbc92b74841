/// Where a pipeline's metrics are served: `HOST:PORT` (`--metrics-address`,
/// or `metrics: {address: …}` in a pipeline file). Checked here, with no
/// network library, so a pipeline file is validated without one.
public struct MetricsAddress: Sendable, Hashable, CustomStringConvertible {
    /// An IPv4 or IPv6 address or a host name, without brackets.
    public var host: String
    /// 0 lets the system choose a free port (the `metrics:` line says which).
    public var port: Int

    public static let expected = "expected HOST:PORT, e.g. 127.0.0.1:9464 or [::1]:9464 (port 0 to 65535)"

    /// Parses `HOST:PORT` or `[IPV6]:PORT`; nil when it is neither.
    public init?(_ text: String) {
        let host: Substring, port: Substring
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]"), text[text.index(after: close)...].hasPrefix(":") else { return nil }
            host = text[text.index(after: text.startIndex)..<close]
            port = text[text.index(close, offsetBy: 2)...]
        } else {
            guard let colon = text.lastIndex(of: ":"), !text[..<colon].contains(":") else { return nil }
            host = text[..<colon]
            port = text[text.index(after: colon)...]
        }
        guard !host.isEmpty, host.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || ".-_:".contains($0)) }),
              port.allSatisfy(\.isASCII), let number = Int(port), (0...65535).contains(number) else { return nil }
        self.host = String(host)
        self.port = number
    }

    public var description: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }
}
