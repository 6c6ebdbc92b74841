import ArgumentParser
import FSProbeCore
import FSProbeSources

/// `-f/--format`.
enum OutputFormatOption: String, ExpressibleByArgument, CaseIterable {
    case table, json, none
}

/// `--dentry-resolution-mode`: the values are the raw values.
extension ResolutionMode: ExpressibleByArgument {}

/// `--backend`.
enum BackendOption: String, ExpressibleByArgument, CaseIterable {
    case auto, fentry, kprobe, tracepoint
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
