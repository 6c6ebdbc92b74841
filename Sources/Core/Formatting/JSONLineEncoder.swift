/// Encodes a `FileEvent` as one JSON object on one line (JSON Lines).
///
/// Fields, always present and in this order (names as in the original
/// FSProbe, so existing consumers keep working):
///
///     event_type timestamp pid tid uid gid comm flags mode
///     src_inode src_filename src_mount_id
///     target_inode target_filename target_mount_id
///     retval error backend
///     src_path_truncated src_path_from_caller
///     target_path_truncated target_path_from_caller
///
/// - `timestamp` is RFC 3339 UTC with nine fractional digits.
/// - `error` is the errno name (`"ENOENT"`, or `"E<n>"` when unknown) when
///   `retval < 0`, and `null` otherwise: a fixed schema, so columnar sinks
///   and `jq` filters never meet a missing key.
/// - Events without a second path have `target_filename: ""` and
///   `target_inode`/`target_mount_id` 0, as in the original.
/// - `*_path_truncated` is true when the kernel's walk stopped before the
///   root or the caller's string was cut (`.truncated` or `.callerTruncated`);
///   `*_path_from_caller` is true when the tail of the path is the string the
///   caller passed (`.callerSuffix`), joined and normalised but not resolved
///   by the kernel, so it may go through symlinks.
///
/// Names are raw bytes. File names and `comm` are escaped so that every line
/// is valid JSON and valid UTF-8 (see `appendJSONEscaped`). Invalid UTF-8
/// bytes become U+FFFD — readable, but lossy — so only when a value is not
/// valid UTF-8 the encoder adds `comm_raw`, `src_filename_raw` or
/// `target_filename_raw`: the exact bytes in standard base64. We chose that
/// over inventing an escape like `\xHH` inside the string, which a real file
/// named `\xff` would make ambiguous, and over always emitting the raw field,
/// which would double the size of every line for the rare hostile name.
/// Consumers that need the exact name use `*_raw` when present, else the
/// string field.
///
/// The encoder allocates nothing per event beyond the growth of the output
/// buffer, which the caller keeps and reuses.
public struct JSONLineEncoder: Sendable {
    public init() {}

    /// Appends the event's JSON object and a trailing `"\n"` to `output`.
    /// The caller owns `output` and clears it when it has written it out.
    public func encode(_ event: FileEvent, into output: inout [UInt8]) {
        var rawComm = false, rawSource = false, rawTarget = false

        output.appendStatic("{\"event_type\":\"")
        output.appendStatic(event.type.staticName)
        output.appendStatic("\",\"timestamp\":\"")
        output.appendRFC3339(event.timestamp)
        output.appendStatic("\",\"pid\":")
        output.appendDecimal(UInt64(event.pid))
        output.appendStatic(",\"tid\":")
        output.appendDecimal(UInt64(event.tid))
        output.appendStatic(",\"uid\":")
        output.appendDecimal(UInt64(event.uid))
        output.appendStatic(",\"gid\":")
        output.appendDecimal(UInt64(event.gid))
        output.appendStatic(",\"comm\":\"")
        event.comm.withBytes { rawComm = !output.appendJSONEscaped($0.assumingMemoryBound(to: UInt8.self)) }
        output.appendStatic("\",\"flags\":")
        output.appendDecimal(UInt64(event.flags))
        output.appendStatic(",\"mode\":")
        output.appendDecimal(UInt64(event.mode))

        output.appendStatic(",\"src_inode\":")
        output.appendDecimal(event.source.inode)
        output.appendStatic(",\"src_filename\":\"")
        event.source.bytes.withUnsafeBufferPointer { rawSource = !output.appendJSONEscaped($0) }
        output.appendStatic("\",\"src_mount_id\":")
        output.appendDecimal(UInt64(event.source.mountID))

        let target = event.target
        output.appendStatic(",\"target_inode\":")
        output.appendDecimal(target?.inode ?? 0)
        output.appendStatic(",\"target_filename\":\"")
        if let target {
            target.bytes.withUnsafeBufferPointer { rawTarget = !output.appendJSONEscaped($0) }
        }
        output.appendStatic("\",\"target_mount_id\":")
        output.appendDecimal(UInt64(target?.mountID ?? 0))

        output.appendStatic(",\"retval\":")
        output.appendDecimal(event.retval)
        if event.retval < 0 {
            output.appendStatic(",\"error\":\"")
            output.appendErrnoName(0 &- event.retval)
            output.append(UInt8(ascii: "\""))
        } else {
            output.appendStatic(",\"error\":null")
        }
        output.appendStatic(",\"backend\":\"")
        output.appendStatic(event.backend.staticName)
        output.append(UInt8(ascii: "\""))

        appendResolution(event.source.resolution, prefix: ",\"src_path_truncated\":",
                         callerKey: ",\"src_path_from_caller\":", into: &output)
        appendResolution(target?.resolution ?? [], prefix: ",\"target_path_truncated\":",
                         callerKey: ",\"target_path_from_caller\":", into: &output)

        if rawComm {
            output.appendStatic(",\"comm_raw\":\"")
            event.comm.withBytes { output.appendBase64($0.assumingMemoryBound(to: UInt8.self)) }
            output.append(UInt8(ascii: "\""))
        }
        if rawSource {
            output.appendStatic(",\"src_filename_raw\":\"")
            event.source.bytes.withUnsafeBufferPointer { output.appendBase64($0) }
            output.append(UInt8(ascii: "\""))
        }
        if rawTarget, let target {
            output.appendStatic(",\"target_filename_raw\":\"")
            target.bytes.withUnsafeBufferPointer { output.appendBase64($0) }
            output.append(UInt8(ascii: "\""))
        }
        output.appendStatic("}\n")
    }

    /// The event's line as a `String` (with its `"\n"`): for tests and tools,
    /// not for the hot path.
    public func line(_ event: FileEvent) -> String {
        var output: [UInt8] = []
        encode(event, into: &output)
        return String(decoding: output, as: UTF8.self)
    }

    private func appendResolution(_ resolution: PathResolution, prefix: StaticString, callerKey: StaticString,
                                  into output: inout [UInt8]) {
        output.appendStatic(prefix)
        output.appendBool(!resolution.isDisjoint(with: [.truncated, .callerTruncated]))
        output.appendStatic(callerKey)
        output.appendBool(resolution.contains(.callerSuffix))
    }
}

extension Array where Element == UInt8 {
    mutating func appendBool(_ value: Bool) {
        if value { appendStatic("true") } else { appendStatic("false") }
    }
}

extension EventType {
    /// `name` as a constant, so formatters copy it without touching `String`.
    var staticName: StaticString {
        switch self {
        case .open: "open"
        case .mkdir: "mkdir"
        case .link: "link"
        case .rename: "rename"
        case .setattr: "setattr"
        case .unlink: "unlink"
        case .rmdir: "rmdir"
        case .modify: "modify"
        }
    }
}

extension BackendKind {
    /// `rawValue` as a constant, so formatters copy it without touching `String`.
    var staticName: StaticString {
        switch self {
        case .fentry: "fentry"
        case .kprobe: "kprobe"
        case .tracepoint: "tracepoint"
        }
    }
}
