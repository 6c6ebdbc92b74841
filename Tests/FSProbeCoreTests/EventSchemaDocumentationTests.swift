import Foundation
import FSProbeCore
import Testing

/// docs/events.md's field table against the schema (`EventField.schema`):
/// a field added, renamed or retyped in one and not the other fails here.
struct EventSchemaDocumentationTests {
    /// The table's rows: the fields each names (backticked in the first
    /// column) and the type it gives them (empty: "the same as" another row).
    static func documentedRows() throws -> [(names: [String], type: String)] {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let text = try String(contentsOf: root.appendingPathComponent("docs/events.md"), encoding: .utf8)
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        guard let header = lines.firstIndex(where: { $0.hasPrefix("| field | type |") }) else { return [] }
        var rows: [(names: [String], type: String)] = []
        for line in lines[(header + 2)...] {
            guard line.hasPrefix("|") else { break }
            let cells = line.split(separator: "|", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
            guard cells.count > 3 else { continue }
            let names = cells[1].split(separator: "`", omittingEmptySubsequences: false).enumerated().filter { $0.offset % 2 == 1 }.map { String($0.element) }
            rows.append((names, cells[2]))
        }
        return rows
    }

    @Test func everyFieldIsDocumentedOnceInOutputOrderAndNothingElse() throws {
        let documented = try Self.documentedRows().flatMap(\.names)
        #expect(documented == EventField.allCases.map(\.name))
    }

    @Test func documentedTypesAreTheSchemas() throws {
        for row in try Self.documentedRows() where !row.type.isEmpty {
            for name in row.names {
                let field = try #require(EventField(name: name), "docs/events.md documents an unknown field \(name)")
                #expect(field.schema.kind.documentedType == row.type, "\(name)")
            }
        }
    }
}
