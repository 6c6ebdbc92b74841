import FSProbeCore
import FSProbePipeline

/// The topology of a pipeline file as Graphviz DOT or Mermaid text. Names
/// come from the file: quoted (DOT) or replaced by numbered ids (Mermaid).
public enum PipelineGraph {
    public enum Format: String, CaseIterable, Sendable {
        case dot, mermaid
    }

    public static func render(_ document: PipelineDocument, as format: Format) -> String {
        switch format {
        case .dot: dot(document)
        case .mermaid: mermaid(document)
        }
    }

    private static func dot(_ document: PipelineDocument) -> String {
        var lines = ["digraph pipeline {", "  rankdir=LR;"]
        let shapes: [ComponentRole: String] = [.source: "invhouse", .transform: "box", .sink: "house"]
        for component in document.components {
            // "\n" is DOT's line break inside a label, between the two escaped parts.
            let label = "\"" + escaped(component.name) + "\\n(" + escaped(component.type ?? "?") + ")\""
            lines.append("  \(quoted(component.name)) [shape=\(shapes[component.role]!), label=\(label)];")
        }
        for component in document.components {
            for input in component.inputs {
                lines.append("  \(quoted(input.name)) -> \(quoted(component.name));")
            }
        }
        return (lines + ["}"]).joined(separator: "\n") + "\n"
    }

    private static func mermaid(_ document: PipelineDocument) -> String {
        var ids: [String: String] = [:]
        for (index, component) in document.components.enumerated() where ids[component.name] == nil {
            ids[component.name] = "c\(index)"
        }
        var lines = ["flowchart LR"]
        for component in document.components {
            let text = "\(component.name) (\(component.type ?? "?"))"
            lines.append("  \(ids[component.name]!)[\"\(mermaidText(text))\"]")
        }
        for component in document.components {
            for input in component.inputs {
                guard let from = ids[input.name] else { continue }
                lines.append("  \(from) --> \(ids[component.name]!)")
            }
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// A DOT string literal.
    private static func quoted(_ text: String) -> String { "\"" + escaped(text) + "\"" }

    /// Text for inside a DOT string: quotes and backslashes escaped, control
    /// characters shown as \\xNN so no name can break the output's lines.
    private static func escaped(_ text: String) -> String {
        var out = ""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case _ where scalar.value < 0x20 || scalar.value == 0x7f: out += "\\\\x" + String(scalar.value, radix: 16)
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out
    }

    /// Mermaid label text: quotes and control characters as HTML entities.
    private static func mermaidText(_ text: String) -> String {
        var out = ""
        for scalar in text.unicodeScalars {
            if scalar == "\"" || scalar.value < 0x20 || scalar.value == 0x7f {
                out += "#\(scalar.value);"
            } else {
                out.unicodeScalars.append(scalar)
            }
        }
        return out
    }
}
