import ArgumentParser
import FSProbeCore

/// `-f/--format`.
enum OutputFormatOption: String, ExpressibleByArgument, CaseIterable {
    case table, json, none
}

/// `--dentry-resolution-mode`. Only `perf_buffer` is implemented in this version.
enum DentryResolutionMode: String, ExpressibleByArgument, CaseIterable {
    case fragments
    case singleFragment = "single_fragment"
    case perfBuffer = "perf_buffer"

    static let implemented: [DentryResolutionMode] = [.perfBuffer]
}

/// `--backend`.
enum BackendOption: String, ExpressibleByArgument, CaseIterable {
    case auto, fentry, kprobe, tracepoint

    var backend: BackendKind? {
        switch self {
        case .auto: nil
        case .fentry: .fentry
        case .kprobe: .kprobe
        case .tracepoint: .tracepoint
        }
    }
}

/// `-e/--event`: one name, or several separated by commas.
struct EventTypeList: ExpressibleByArgument {
    let types: [EventType]

    init?(argument: String) {
        var types: [EventType] = []
        for name in argument.split(separator: ",", omittingEmptySubsequences: false) {
            let name = name.filter { !$0.isWhitespace }
            if name == "all" {
                types.append(contentsOf: EventType.allCases)
                continue
            }
            guard let type = EventType(name: name) else { return nil }
            types.append(type)
        }
        self.types = types
    }

    static var allValueStrings: [String] { EventType.allCases.map(\.name) + ["all"] }
}
