/// The eight file-system operations fsprobe reports, named as in the original FSProbe.
///
/// Raw values are the kernel ABI numbers (`enum fsp_event_type` in `ebpf/fsprobe.h`).
public enum EventType: UInt32, CaseIterable, Sendable, Hashable, CustomStringConvertible {
    case open = 0
    case mkdir = 1
    case link = 2
    case rename = 3
    case setattr = 4
    case unlink = 5
    case rmdir = 6
    case modify = 7

    /// The name used on the command line and in the `event_type` JSON field.
    public var name: String { staticName.description }

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

    public var description: String { name }

    /// Parses a name as given to `-e/--event`.
    public init?(name: String) {
        guard let match = EventType.allCases.first(where: { $0.name == name }) else { return nil }
        self = match
    }

    /// Operations that carry a second path (`target_filename`).
    public var hasTarget: Bool { self == .rename || self == .link }
}

/// A set of event types, as a bit mask matching the kernel's event mask.
public struct EventTypeSet: OptionSet, Sendable, Hashable {
    public let rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }
    public init(_ types: some Sequence<EventType>) {
        self.init(rawValue: types.reduce(0) { $0 | (1 << $1.rawValue) })
    }
    public func contains(_ type: EventType) -> Bool { rawValue & (1 << type.rawValue) != 0 }
    public static let all = EventTypeSet(EventType.allCases)
    /// The default of the command line, as in the original FSProbe.
    public static let openOnly = EventTypeSet([EventType.open])
}
