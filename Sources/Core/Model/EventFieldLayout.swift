/// How an event's JSON object differs from the standard schema: fields
/// renamed or omitted, and constant fields added at the end.
///
/// Events point to a shared, immutable layout (`FileEvent.fields`, nil for
/// the standard schema), so a transform that changes the fields costs a
/// pointer copy per event. The JSON keys and added values are escaped once,
/// here, so the encoder only copies bytes.
///
/// Keys are unique: whoever builds a layout (the `fields` transform) checks
/// that before.
public final class EventFieldLayout: @unchecked Sendable, Hashable, CustomStringConvertible {
    /// The layout of the standard schema (what nil stands for).
    public static let standard = EventFieldLayout(names: EventField.allCases.map(\.name), extras: [])

    /// The key of each field, indexed by `EventField.rawValue`; nil when omitted.
    public let names: [String?]
    /// Constant string fields written after the others, in order.
    public let extras: [(name: String, value: String)]

    /// `,"key":` of every field, JSON-escaped, back to back, with the
    /// opening `"` of the value for string fields (`opensString`) so the
    /// encoder appends both at once; field i's is
    /// `jsonKeyOffsets[i]..<jsonKeyOffsets[i + 1]`, empty when omitted.
    /// Raw memory written once here and freed with the layout (hence
    /// `@unchecked Sendable`: it is never written after `init`), so the
    /// encoder reads a key with no reference counting per field.
    let jsonKeyBytes: UnsafeMutableBufferPointer<UInt8>
    let jsonKeyOffsets: UnsafeMutableBufferPointer<Int>
    /// `,"key":"value"` for every extra, JSON-escaped, one after the other.
    let jsonExtras: [UInt8]

    package init(names: [String?], extras: [(name: String, value: String)]) {
        precondition(names.count == EventField.allCases.count)
        self.names = names
        self.extras = extras
        var keys: [UInt8] = []
        var offsets = [0]
        for (field, name) in zip(EventField.allCases, names) {
            if let name {
                keys.appendStatic(",\"")
                keys.appendJSONEscapedString(name)
                keys.appendStatic("\":")
                if field.opensString { keys.append(UInt8(ascii: "\"")) }
            }
            offsets.append(keys.count)
        }
        jsonKeyBytes = .allocate(capacity: keys.count)
        _ = jsonKeyBytes.initialize(from: keys)
        jsonKeyOffsets = .allocate(capacity: offsets.count)
        _ = jsonKeyOffsets.initialize(from: offsets)
        var json: [UInt8] = []
        for extra in extras {
            json.appendStatic(",\"")
            json.appendJSONEscapedString(extra.name)
            json.appendStatic("\":\"")
            json.appendJSONEscapedString(extra.value)
            json.append(UInt8(ascii: "\""))
        }
        jsonExtras = json
    }

    deinit {
        jsonKeyBytes.deallocate()
        jsonKeyOffsets.deallocate()
    }

    /// The key of `field` in this layout, nil when omitted.
    public func name(of field: EventField) -> String? { names[field.rawValue] }

    /// Whether this layout writes exactly the standard schema.
    public var isStandard: Bool { extras.isEmpty && names == EventFieldLayout.standard.names }

    /// Every key this layout may write (omitted fields left out).
    public var keys: [String] { names.compactMap { $0 } + extras.map(\.name) }

    public static func == (lhs: EventFieldLayout, rhs: EventFieldLayout) -> Bool {
        lhs === rhs || (lhs.names == rhs.names && lhs.extras.elementsEqual(rhs.extras, by: { $0 == $1 }))
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(names)
        for extra in extras {
            hasher.combine(extra.name)
            hasher.combine(extra.value)
        }
    }

    public var description: String {
        let changed = EventField.allCases.compactMap { field -> String? in
            switch names[field.rawValue] {
            case nil: "-\(field.name)"
            case field.name: nil
            case let name?: "\(field.name)=\(name)"
            }
        }
        return (changed + extras.map { "+\($0.name)" }).joined(separator: " ")
    }
}

extension ByteOutput {
    /// Appends a string's UTF-8 as JSON string contents (always valid UTF-8,
    /// so no `*_raw` companion is needed).
    mutating func appendJSONEscapedString(_ text: String) {
        var text = text  // withUTF8 reads a native string in place, allocating nothing
        text.withUTF8 { _ = appendJSONEscaped($0) }
    }
}
