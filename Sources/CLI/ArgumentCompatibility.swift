/// The original FSProbe (cobra) accepts boolean flags as `--follow`,
/// `--follow=false` and `-r=false`. swift-argument-parser spells the negative
/// form `--no-follow`. This rewrites the cobra spellings before parsing, so
/// both families of scripts work.
enum ArgumentCompatibility {
    /// Boolean flags with their long name and optional short name.
    static let booleanFlags: [(long: String, short: String?)] = [
        ("follow", nil), ("paths-filtering", nil), ("recursive", "r"),
    ]

    struct InvalidValue: Error, CustomStringConvertible {
        let flag: String
        let value: String
        var description: String { "invalid value '\(value)' for \(flag): expected true or false" }
    }

    /// Options taking a number. The parser reads `-s -1` as `-s` missing its
    /// value followed by an option `-1`; joined as `--chan-size=-1`, the
    /// value reaches the option's own check, which says what is accepted.
    static let numericOptions: [(long: String, short: String?)] = [
        ("chan-size", "s"), ("kernel-cache-size", nil), ("path-cache-size", nil),
        ("perf-buffer-size", nil), ("stats-interval", nil), ("shutdown-timeout", nil),
    ]

    static func rewrite(_ arguments: [String]) throws(InvalidValue) -> [String] {
        var result: [String] = []
        var passthrough = false
        var index = arguments.startIndex
        while index < arguments.endIndex {
            let argument = arguments[index]
            index += 1
            if passthrough || argument == "--" {
                passthrough = true
                result.append(argument)
                continue
            }
            if index < arguments.endIndex, arguments[index].hasPrefix("-"), Int(arguments[index]) != nil,
               let option = numericOptions.first(where: { argument == "--\($0.long)" || $0.short.map { argument == "-\($0)" } ?? false }) {
                result.append("--\(option.long)=\(arguments[index])")
                index += 1
                continue
            }
            result.append(try rewriteOne(argument))
        }
        return result
    }

    static func rewriteOne(_ argument: String) throws(InvalidValue) -> String {
        guard let equals = argument.firstIndex(of: "=") else { return argument }
        let name = argument[..<equals]
        let rawValue = argument[argument.index(after: equals)...]
        let value = rawValue.lowercased()
        for flag in booleanFlags where name == "--\(flag.long)" || (flag.short.map { name == "-\($0)" } ?? false) {
            switch value {
            case "true", "1", "t", "yes": return "--\(flag.long)"
            case "false", "0", "f", "no": return "--no-\(flag.long)"
            default: throw InvalidValue(flag: String(name), value: String(rawValue))
            }
        }
        return argument
    }
}
