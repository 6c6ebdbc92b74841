import Foundation
import FSProbeCore
import FSProbeTestSupport
import XCTest

/// docs/event.schema.json against the JSON formatter: every object it
/// writes, for events of every shape (`EventCatalogue`), is valid under the
/// schema, and the schema declares exactly the keys the formatter can write.
///
/// The checker below is not a general JSON Schema validator: it implements
/// the subset of draft 2020-12 the file uses (`type`, with a list of types;
/// `properties`, `required`, `additionalProperties: false`; `enum`,
/// `const`, `pattern`, `minimum`), ignores the annotations (`$schema`,
/// `title`, `description`, `format`, `contentEncoding`), and fails on any
/// other keyword, so the schema cannot come to rely on one it does not check.
/// No kernel: host only (HOST_ONLY in scripts/vm/per-backend.sh).
final class EventJSONSchemaTests: XCTestCase {
    static func schema() throws -> [String: Any] {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let data = try Data(contentsOf: root.appendingPathComponent("docs/event.schema.json"))
        return try XCTUnwrap(try JSONSerialization.jsonObject(with: data) as? [String: Any])
    }

    static func objects() throws -> [[String: Any]] {
        let encoder = JSONLineEncoder()
        return try EventCatalogue.all.map { event in
            let line = encoder.line(event)
            XCTAssertEqual(line.filter { $0 == "\n" }.count, 1, line)
            return try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any], line)
        }
    }

    func testEveryObjectTheFormatterWritesIsValid() throws {
        let schema = try Self.schema()
        XCTAssertEqual(schema["$schema"] as? String, "https://json-schema.org/draft/2020-12/schema")
        for object in try Self.objects() {
            let problems = SchemaSubset.problems(object, schema)
            XCTAssertEqual(problems, [], "\(object["event_type"] ?? "?") \(object["src_filename"] ?? "?")")
        }
    }

    /// The schema declares the formatter's keys, no more: schema_version
    /// and every field of `EventField`, required unless it is a `*_raw`
    /// companion. And the events cover it: every key is written by some
    /// event, every nullable one both null and not.
    func testSchemaDeclaresExactlyTheFormattersKeysAndTheEventsCoverThem() throws {
        let schema = try Self.schema()
        let properties = try XCTUnwrap(schema["properties"] as? [String: [String: Any]])
        XCTAssertEqual(Set(properties.keys), Set(["schema_version"] + EventField.allCases.map(\.name)))
        XCTAssertEqual(Set(schema["required"] as? [String] ?? []),
                       Set(["schema_version"] + EventField.allCases.filter { $0.companionOf == nil }.map(\.name)))
        XCTAssertEqual(schema["additionalProperties"] as? Bool, false)
        XCTAssertEqual((properties["schema_version"]?["const"] as? NSNumber)?.intValue, JSONLineEncoder.schemaVersion)

        let objects = try Self.objects()
        for (key, property) in properties {
            let values = objects.compactMap { $0[key] }
            XCTAssertFalse(values.isEmpty, "no event writes \(key)")
            if let types = property["type"] as? [String], types.contains("null") {
                XCTAssertTrue(values.contains { $0 is NSNull }, "no event writes \(key): null")
                XCTAssertTrue(values.contains { !($0 is NSNull) }, "no event writes \(key) with a value")
            }
        }
        let setattrs = objects.compactMap { $0["setattr"] as? [String: Any] }
        XCTAssertTrue(setattrs.contains { ($0["xattr"] as? [String: Any])?["name_raw"] != nil }, "no xattr name_raw")
        XCTAssertTrue(setattrs.contains { $0["atime"] as? String == "now" } && setattrs.contains { $0["mtime"] is String })
    }

    /// The checker itself fails what it should: a missing required key, an
    /// undeclared key, a wrong type, a value outside an enum, a bad pattern.
    func testTheCheckerRejectsWhatTheSchemaForbids() throws {
        let schema = try Self.schema()
        let valid = try XCTUnwrap(try Self.objects().first)
        XCTAssertEqual(SchemaSubset.problems(valid, schema), [])
        func broken(_ change: (inout [String: Any]) -> Void) -> [String] {
            var object = valid
            change(&object)
            return SchemaSubset.problems(object, schema)
        }
        XCTAssertFalse(broken { $0["pid"] = nil }.isEmpty, "missing required")
        XCTAssertFalse(broken { $0["extra"] = 1 }.isEmpty, "undeclared key")
        XCTAssertFalse(broken { $0["pid"] = "1" }.isEmpty, "string for integer")
        XCTAssertFalse(broken { $0["pid"] = 1.5 }.isEmpty, "fraction for integer")
        XCTAssertFalse(broken { $0["src_path_deleted"] = 0 }.isEmpty, "number for boolean")
        XCTAssertFalse(broken { $0["comm"] = NSNull() }.isEmpty, "null for string")
        XCTAssertFalse(broken { $0["event_type"] = "chmod" }.isEmpty, "outside enum")
        XCTAssertFalse(broken { $0["schema_version"] = 2 }.isEmpty, "const")
        XCTAssertFalse(broken { $0["timestamp"] = "2026-11-26 06:45:44Z" }.isEmpty, "pattern")
        XCTAssertFalse(broken { $0["pid"] = -1 }.isEmpty, "minimum")
        XCTAssertFalse(broken { $0["setattr"] = ["mode": 1] }.isEmpty, "nested required")
        XCTAssertTrue(SchemaSubset.problems(valid, ["type": "object", "unknownKeyword": 1]).contains { $0.contains("unknownKeyword") })
    }
}

/// The subset of JSON Schema draft 2020-12 docs/event.schema.json uses (see above).
enum SchemaSubset {
    static let annotations: Set<String> = ["$schema", "title", "description", "format", "contentEncoding"]
    static let keywords: Set<String> = ["type", "properties", "required", "additionalProperties", "enum", "const",
                                        "pattern", "minimum"]

    static func problems(_ value: Any, _ schema: [String: Any], at path: String = "$") -> [String] {
        var problems: [String] = []
        for key in schema.keys where !annotations.contains(key) && !keywords.contains(key) {
            problems.append("\(path): the checker does not implement '\(key)'")
        }
        if let type = schema["type"] {
            let types = (type as? [String]) ?? [type as? String ?? "?"]
            if !types.contains(where: { matches(value, $0) }) {
                problems.append("\(path): \(value) is not \(types.joined(separator: " or "))")
                return problems
            }
        }
        if let options = schema["enum"] as? [Any], !options.contains(where: { equal($0, value) }) {
            problems.append("\(path): \(value) is not one of \(options)")
        }
        if let constant = schema["const"], !equal(constant, value) {
            problems.append("\(path): \(value) is not \(constant)")
        }
        if let pattern = schema["pattern"] as? String, let text = value as? String {
            if text.range(of: pattern, options: .regularExpression) == nil {
                problems.append("\(path): \(text.debugDescription) does not match \(pattern)")
            }
        }
        if let minimum = schema["minimum"] as? NSNumber, let number = value as? NSNumber, !isBool(value),
           number.doubleValue < minimum.doubleValue {
            problems.append("\(path): \(number) is below \(minimum)")
        }
        if let object = value as? [String: Any] {
            let properties = schema["properties"] as? [String: [String: Any]] ?? [:]
            for key in schema["required"] as? [String] ?? [] where object[key] == nil {
                problems.append("\(path): required '\(key)' is missing")
            }
            for (key, member) in object {
                if let property = properties[key] {
                    problems += Self.problems(member, property, at: path + "." + key)
                } else if schema["additionalProperties"] as? Bool == false {
                    problems.append("\(path): '\(key)' is not declared")
                }
            }
        }
        return problems
    }

    static func isBool(_ value: Any) -> Bool {
        // JSON's true and false come back as NSNumbers of type "c"; numbers never do.
        guard let number = value as? NSNumber else { return false }
        return String(cString: number.objCType) == "c"
    }

    static func matches(_ value: Any, _ type: String) -> Bool {
        switch type {
        case "null": return value is NSNull
        case "boolean": return isBool(value)
        case "string": return value is String
        case "object": return value is [String: Any]
        case "array": return value is [Any]
        case "integer":
            guard let number = value as? NSNumber, !isBool(value), !(value is String) else { return false }
            return number.doubleValue.rounded() == number.doubleValue && !"\(number)".contains(".")
        case "number":
            return value is NSNumber && !isBool(value) && !(value is String)
        default: return false
        }
    }

    static func equal(_ a: Any, _ b: Any) -> Bool {
        switch (a, b) {
        case (is NSNull, is NSNull): return true
        case (let x as String, let y as String): return x == y
        case (let x as NSNumber, let y as NSNumber): return isBool(x) == isBool(y) && x == y
        default: return false
        }
    }
}
