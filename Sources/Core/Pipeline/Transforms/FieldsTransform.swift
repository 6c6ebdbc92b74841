#if canImport(Glibc)
import FSProbeCore
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Adds, removes and renames fields of the JSON output by pointing each
/// event to a shared layout (`FileEvent.fields`); the event's values are
/// untouched, and the table format ignores layouts.
///
/// Layouts are built at most once per incoming layout and cached by its
/// identity: per event this costs a pointer comparison and copy, no
/// allocation. A class because of that cache; the pipeline calls a
/// transform from one thread only (see `EventTransform`), so it needs no lock.
public final class FieldsTransform: EventTransform, @unchecked Sendable {
    public let name: String
    private let change: FieldChange
    /// The result for events of the standard schema, the usual case.
    private let fromStandard: EventFieldLayout?
    private var lastIncoming: EventFieldLayout?
    private var lastOutgoing: EventFieldLayout?
    /// Holds the incoming layouts strongly so that their identities stay theirs.
    private var cache: [ObjectIdentifier: (incoming: EventFieldLayout, outgoing: EventFieldLayout?)] = [:]
    /// Distinct incoming layouts come from distinct upstream changes, so a
    /// handful; the bound only guards against callers making one per event.
    private static let cacheLimit = 64

    /// - Parameter hostName: the value of the `host_name` field; nil reads
    ///   the machine's now, once (tests choose their own).
    public init(name: String, options: FieldsOptions, hostName: String? = nil) throws(ComponentOptionError) {
        self.name = name
        var added = options.added
        if let field = options.hostNameField {
            let value = if let hostName { hostName } else { try Self.currentHostName() }
            added.append((field, value))
        }
        change = FieldChange(removed: options.removed, renamed: options.renamed, added: added)
        fromStandard = change.applied(to: nil)
    }

    public func apply(_ event: inout FileEvent) -> Bool {
        guard let incoming = event.fields else {
            event.fields = fromStandard
            return true
        }
        if incoming !== lastIncoming {
            lastOutgoing = layout(after: incoming)
            lastIncoming = incoming
        }
        event.fields = lastOutgoing
        return true
    }

    private func layout(after incoming: EventFieldLayout) -> EventFieldLayout? {
        let id = ObjectIdentifier(incoming)
        if let cached = cache[id] { return cached.outgoing }
        if cache.count >= Self.cacheLimit { cache.removeAll() }
        let outgoing = change.applied(to: incoming)
        cache[id] = (incoming, outgoing)
        return outgoing
    }

    /// The machine's host name (`gethostname`), for `host_name`.
    public static func currentHostName() throws(ComponentOptionError) -> String {
        guard let name = EventOrigin.readMachineName() else {
            throw ComponentOptionError(option: "host_name", "cannot read the host name: \(String(cString: strerror(errno)))")
        }
        return name
    }
}

extension ComponentType {
    public static let fieldsTransform = ComponentType.transform(
        "fields",
        summary: "adds, removes or renames fields of the JSON output (names of the standard schema; the table format ignores this)",
        options: [
            OptionSpec("add", .stringList, "constant string fields, as name=value, written after the others"),
            OptionSpec("remove", .choiceList(EventField.allCases.map(\.name)),
                       "fields to leave out (a field's *_raw companion goes with it)"),
            OptionSpec("rename", .stringList, "fields to rename, as old=new (a *_raw companion becomes new_raw)"),
            OptionSpec("host_name", .string, "adds the machine's host name (read once at start) under this name; every event has the standard `host` field, so `host_name: host` changes nothing"),
        ]
    ) { (options: FieldsOptions, context) in
        try FieldsTransform(name: context.name, options: options)
    }
}
