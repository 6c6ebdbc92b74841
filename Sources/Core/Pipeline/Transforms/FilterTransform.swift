/// `type: filter` in a pipeline file: keeps the events that match every
/// given condition (a list matches when any of its items does), or with
/// `exclude: true` drops them and keeps the rest.
import FSProbeCore
public struct FilterOptions: ComponentOptionsDecodable {
    /// Whether an operation succeeded (`retval >= 0`) or failed.
    public enum Outcome: String, Sendable, CaseIterable {
        case success, failure
    }

    public var eventTypes: EventTypeSet?
    public var pathPrefixes: [PathPrefix] = []
    public var pathGlobs: [PathGlob] = []
    public var comms: [ProcessName] = []
    public var uids: [UInt32] = []
    public var gids: [UInt32] = []
    public var euids: [UInt32] = []
    /// Container ids to match; `""` matches the host's events.
    public var containerIDs: [String] = []
    /// Hosts the events came from (`host`); an event without one matches none.
    public var hosts: [String] = []
    /// Whether the caller runs in a container (a non-empty container id).
    public var inContainer: Bool?
    /// Extended attribute name prefixes (`security.`); `""` matches any
    /// extended attribute change.
    public var xattrPrefixes: [[UInt8]] = []
    public var outcome: Outcome?
    public var exclude = false

    public init(_ options: ComponentOptions) throws(ComponentOptionError) {
        if let names = options.strings("event_types") {
            var types: [EventType] = []
            for name in names {
                guard let type = EventType(name: name) else {
                    throw ComponentOptionError(option: "event_types", "unknown event type '\(name.lineSafe)'")
                }
                types.append(type)
            }
            eventTypes = EventTypeSet(types)
        }
        for text in options.strings("path_prefix") ?? [] {
            do {
                pathPrefixes.append(try PathPrefix(text))
            } catch {
                throw ComponentOptionError(option: "path_prefix", "'\(text.lineSafe)' \(error)")
            }
        }
        for text in options.strings("path_glob") ?? [] {
            do {
                pathGlobs.append(try PathGlob(text))
            } catch {
                throw ComponentOptionError(option: "path_glob", "'\(text.lineSafe)' \(error)")
            }
        }
        for name in options.strings("comm") ?? [] {
            // The kernel keeps 15 bytes of a process name: a longer one could never match.
            guard !name.isEmpty, name.utf8.count < ProcessName.capacity else {
                throw ComponentOptionError(option: "comm", "'\(name.lineSafe)' is not a process name of 1 to 15 bytes (the kernel cuts longer names to 15)")
            }
            comms.append(ProcessName(name))
        }
        uids = try Self.ids("uid", options)
        gids = try Self.ids("gid", options)
        euids = try Self.ids("euid", options)
        containerIDs = options.strings("container_id") ?? []
        hosts = options.strings("host") ?? []
        inContainer = try options.bool("in_container")
        xattrPrefixes = (options.strings("xattr_prefix") ?? []).map { Array($0.utf8) }
        outcome = try options.choice("retval", as: Outcome.self)
        exclude = try options.bool("exclude") ?? false
    }

    private static func ids(_ option: String, _ options: ComponentOptions) throws(ComponentOptionError) -> [UInt32] {
        var ids: [UInt32] = []
        for text in options.strings(option) ?? [] {
            guard let id = UInt32(text) else {
                throw ComponentOptionError(option: option, "expected numeric ids (0...\(UInt32.max)), got '\(text.lineSafe)'")
            }
            ids.append(id)
        }
        return ids
    }
}

/// Keeps (or with `exclude`, drops) the events matching every condition.
/// Everything is compiled at construction: matching reads the event in
/// place and allocates nothing.
public struct FilterTransform: EventTransform {
    public let name: String
    private let options: FilterOptions

    public init(name: String, options: FilterOptions) {
        self.name = name
        self.options = options
    }

    public func apply(_ event: inout FileEvent) -> Bool {
        matches(event) != options.exclude
    }

    /// Whether `event` meets every condition (ignoring `exclude`).
    public func matches(_ event: FileEvent) -> Bool {
        if let types = options.eventTypes, !types.contains(event.type) { return false }
        switch options.outcome {
        case nil: break
        case .success?: if event.retval < 0 { return false }
        case .failure?: if event.retval >= 0 { return false }
        }
        if !options.uids.isEmpty && !options.uids.contains(event.uid) { return false }
        if !options.gids.isEmpty && !options.gids.contains(event.gid) { return false }
        if !options.euids.isEmpty && !options.euids.contains(event.process.euid) { return false }
        if let inContainer = options.inContainer, event.process.containerID.isEmpty == inContainer { return false }
        if !options.containerIDs.isEmpty && !options.containerIDs.contains(event.process.containerID) { return false }
        if !options.hosts.isEmpty {
            guard let host = event.origin?.host, options.hosts.contains(host) else { return false }
        }
        if !options.comms.isEmpty && !options.comms.contains(event.comm) { return false }
        if !options.xattrPrefixes.isEmpty {
            guard let name = event.attributes?.extendedAttribute?.name,
                  options.xattrPrefixes.contains(where: { name.starts(with: $0) }) else { return false }
        }
        if !options.pathPrefixes.isEmpty
            && !Self.eitherPath(of: event, where: { path in options.pathPrefixes.contains { $0.matches(path) } }) {
            return false
        }
        if !options.pathGlobs.isEmpty
            && !Self.eitherPath(of: event, where: { path in options.pathGlobs.contains { $0.matches(path) } }) {
            return false
        }
        return true
    }

    /// Whether the source or target path satisfies `test`. A path whose
    /// beginning is unknown (the kernel's walk stopped before the root, or
    /// its cached directory could not be resolved) or relative to a lazily
    /// unmounted mount could be anywhere, so it matches no path condition.
    @inline(__always)
    private static func eitherPath(of event: FileEvent, where test: (UnsafeBufferPointer<UInt8>) -> Bool) -> Bool {
        if event.source.resolution.isDisjoint(with: unplaced),
           event.source.bytes.withUnsafeBufferPointer(test) {
            return true
        }
        if let target = event.target, target.resolution.isDisjoint(with: unplaced),
           target.bytes.withUnsafeBufferPointer(test) {
            return true
        }
        return false
    }

    private static let unplaced = PathResolution.startMissing.union(.detached)
}

extension ComponentType {
    public static let filterTransform = ComponentType.transform(
        "filter",
        summary: "keeps the events matching every given condition (a list: any of its items); exclude: true drops them instead",
        options: [
            OptionSpec("event_types", .choiceList(EventType.allCases.map(\.name)), "event types to match"),
            OptionSpec("path_prefix", .stringList,
                       "directories or files: matches a source or target path equal to one or under it (/etc matches /etc/hosts, not /etcetera); a path cut at its start matches none"),
            OptionSpec("path_glob", .stringList,
                       "globs on the whole source or target path: * within a name, ** across /, ? one character, [a-z] sets; starts with / or **; a path cut at its start matches none"),
            OptionSpec("comm", .stringList, "process names (exact, at most 15 bytes)"),
            OptionSpec("uid", .stringList, "numeric user ids of the caller"),
            OptionSpec("gid", .stringList, "numeric group ids of the caller"),
            OptionSpec("euid", .stringList, "numeric effective user ids of the caller"),
            OptionSpec("container_id", .stringList,
                       "container ids (the 64-hex-digit id, or a systemd-nspawn machine name); \"\" matches the host"),
            OptionSpec("host", .stringList, "hosts the events were captured on (`host`), as an aggregator receives them"),
            OptionSpec("in_container", .bool, "true: only events from containers; false: only the host's"),
            OptionSpec("xattr_prefix", .stringList,
                       "extended attribute names starting with one of these (security., user.); \"\" matches any extended attribute change"),
            OptionSpec("retval", .choice(FilterOptions.Outcome.allCases.map(\.rawValue)),
                       "success (retval >= 0) or failure (retval < 0)"),
            OptionSpec("exclude", .bool, "drop the matching events and keep the others (default: false)"),
        ]
    ) { (options: FilterOptions, context) in
        FilterTransform(name: context.name, options: options)
    }
}
