import FSProbeCore

extension KafkaMessageKey {
    /// Appends the event's key bytes to `key` (which the caller clears and
    /// reuses, so nothing is allocated per event once it has grown).
    /// Names are raw bytes, not JSON-escaped: Kafka keys are byte strings,
    /// and the exact bytes keep two distinct hostile names apart.
    func append(_ event: FileEvent, to key: inout [UInt8]) {
        switch self {
        case .srcFilename: key.append(contentsOf: event.source.bytes)
        case .pid: key.appendDecimal(event.pid)
        case .comm: event.comm.withBytes { key.append(contentsOf: $0) }
        case .eventType: key.append(contentsOf: event.type.name.utf8)
        case .uid: key.appendDecimal(event.uid)
        case .containerID:
            var id = event.process.containerID  // withUTF8 reads it in place
            id.withUTF8 { key.append(contentsOf: $0) }
        case .eventID: event.id?.append(to: &key)
        case .none: break
        }
    }
}

extension Array where Element == UInt8 {
    /// ASCII decimal digits of `value`, written in place.
    fileprivate mutating func appendDecimal(_ value: UInt32) {
        var divisor: UInt32 = 1
        while value / divisor >= 10 { divisor *= 10 }
        while divisor > 0 {
            append(UInt8(ascii: "0") + UInt8(value / divisor % 10))
            divisor /= 10
        }
    }
}
