/// `type: fields` in a pipeline file: what to add, remove and rename in the
/// JSON output, checked against the standard schema when decoded.
///
/// `remove` and `rename` name fields of the standard schema (`EventField`),
/// whatever an earlier `fields` transform did to them. A `*_raw` companion
/// follows its field: removed with it, renamed to `<new name>_raw`; it can
/// be removed alone but not renamed alone. After this transform's own
/// changes every key must be unique, so `rename: [pid=tid]` is refused unless
/// `tid` is removed or renamed too (a swap is fine).
import FSProbeCore
public struct FieldsOptions: ComponentOptionsDecodable {
    /// Constant string fields, in order.
    public var added: [(name: String, value: String)] = []
    public var removed: Set<EventField> = []
    public var renamed: [EventField: String] = [:]
    /// The key of the added field holding the machine's host name.
    public var hostNameField: String?

    public init(_ options: ComponentOptions) throws(ComponentOptionError) {
        for item in options.strings("add") ?? [] {
            let (name, value) = try Self.split(item, option: "add", shape: "name=value")
            try Self.checkName(name, option: "add")
            added.append((name, value))
        }
        for name in options.strings("remove") ?? [] {
            removed.insert(try Self.field(name, option: "remove"))
        }
        for item in options.strings("rename") ?? [] {
            let (old, new) = try Self.split(item, option: "rename", shape: "old=new")
            let field = try Self.field(old, option: "rename")
            if let main = field.companionOf {
                throw ComponentOptionError(option: "rename", "'\(old)' follows '\(main.name)': rename '\(main.name)' and it becomes '<new name>_raw'")
            }
            guard renamed[field] == nil else { throw ComponentOptionError(option: "rename", "'\(old)' is renamed twice") }
            guard !removed.contains(field) else {
                throw ComponentOptionError(option: "rename", "'\(old)' is also in remove")
            }
            try Self.checkName(new, option: "rename")
            renamed[field] = new
        }
        if let name = try options.string("host_name") {
            try Self.checkName(name, option: "host_name")
            // Files written before `host` was a standard field asked for it
            // this way: the standard field already holds the host's name.
            let standardHost = name == EventField.host.name && !removed.contains(.host) && renamed[.host] == nil
            hostNameField = standardHost ? nil : name
        }
        try checkUnique()
    }

    /// The keys this transform writes on an event of the standard schema
    /// must all differ; reports the first clash at the option that made it.
    private func checkUnique() throws(ComponentOptionError) {
        var owner: [String: String] = [:]  // key -> what writes it
        owner["schema_version"] = "written first in every JSON object"
        func claim(_ key: String, by origin: String, option: String) throws(ComponentOptionError) {
            if let previous = owner[key] {
                throw ComponentOptionError(option: option, "field '\(key.lineSafe)' already exists (\(previous))")
            }
            owner[key] = origin
        }
        var names = EventFieldLayout.standard.names
        let written = FieldChange(removed: removed, renamed: renamed, added: []).rewrite(&names)
        for field in EventField.allCases where !written.contains(field) {
            if let key = names[field.rawValue] { try claim(key, by: "a standard field", option: "rename") }
        }
        for field in EventField.allCases where written.contains(field) {
            if let key = names[field.rawValue] { try claim(key, by: "renamed from '\(field.name)'", option: "rename") }
        }
        for (name, _) in added { try claim(name, by: "added by add", option: "add") }
        if let hostNameField { try claim(hostNameField, by: "host_name", option: "host_name") }
    }

    private static func split(_ item: String, option: String, shape: String) throws(ComponentOptionError) -> (String, String) {
        guard let equals = item.firstIndex(of: "=") else {
            throw ComponentOptionError(option: option, "'\(item.lineSafe)' is not \(shape)")
        }
        return (String(item[..<equals]), String(item[item.index(after: equals)...]))
    }

    private static func field(_ name: String, option: String) throws(ComponentOptionError) -> EventField {
        guard let field = EventField(name: name) else {
            let known = EventField.allCases.map(\.name).joined(separator: ", ")
            throw ComponentOptionError(option: option, "unknown field '\(name.lineSafe)': expected one of \(known)")
        }
        return field
    }

    /// A key must be readable and unambiguous in `name=value` lists; JSON
    /// escaping would cope with anything, the people reading it less so.
    private static func checkName(_ name: String, option: String) throws(ComponentOptionError) {
        guard !name.isEmpty else { throw ComponentOptionError(option: option, "a field name is empty") }
        guard name == name.lineSafe else {
            throw ComponentOptionError(option: option, "field name '\(name.lineSafe)' contains control characters")
        }
        guard !name.contains("=") else {
            throw ComponentOptionError(option: option, "field name '\(name)' contains =")
        }
        guard name.first?.isWhitespace == false, name.last?.isWhitespace == false else {
            throw ComponentOptionError(option: option, "field name '\(name)' begins or ends with white space")
        }
    }
}
