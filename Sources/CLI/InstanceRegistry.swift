import Foundation
import FSProbeCore
import FSProbePipeline
import FSProbeSinks
#if canImport(Glibc)
import Glibc
#endif

/// Where running fsprobe instances note what they watch and where they
/// write, so that a new one can tell when two would feed each other: each
/// writing into a tree the other watches reports the other's writes, whose
/// reports are writes in turn, without end (fsprobe ignores only its own).
///
/// One file per instance, `/run/fsprobe/PID`, removed at exit: records of a
/// kind byte and a path, each ended by NUL (paths may hold any other byte).
/// Kinds: `r` a watched tree, `c` a watched directory's immediate children,
/// `a` the whole file system (no path), `o` a file or directory written.
/// A file whose process is gone (killed) is ignored and removed.
struct InstanceRegistry {
    static let directory = "/run/fsprobe"

    struct Entry: Equatable {
        enum Kind: UInt8 {
            case tree = 0x72, children = 0x63, everything = 0x61, output = 0x6F
        }
        var kind: Kind
        var path: [UInt8]
    }

    let entries: [Entry]
    private let file = "\(Self.directory)/\(getpid())"

    /// - Parameter sources: this instance's sources.
    init(sources: [any EventSource], outputs: [String]) {
        var entries: [Entry] = sources.flatMap { source -> [Entry] in
            switch source.scope {
            case .everything: [Entry(kind: .everything, path: [])]
            case .paths(let paths): paths.map { Entry(kind: $0.recursive ? .tree : .children, path: $0.path) }
            }
        }
        entries += outputs.map { Entry(kind: .output, path: Self.resolved($0)) }
        self.entries = entries
    }

    /// The outputs of the sinks fsprobe writes to disk: files, databases,
    /// disk buffers.
    static func outputs(of sinks: [any EventSink]) -> [String] {
        sinks.flatMap(\.outputPaths)
    }

    /// Notes this instance and returns a warning line for every pair of
    /// running instances (this one and another) where one's output lies in
    /// what the other watches. Best effort: a registry that cannot be
    /// written only means no warning.
    func register() -> [String] {
        var warnings: [String] = []
        for (pid, others) in Self.runningInstances() {
            for output in entries where output.kind == .output {
                if let watch = others.first(where: { Self.contains($0, output.path) }) {
                    warnings.append(Self.warning(output: output.path, watcher: "fsprobe (pid \(pid))", watch: watch))
                }
            }
            for output in others where output.kind == .output {
                if let watch = entries.first(where: { Self.contains($0, output.path) }) {
                    warnings.append(Self.warning(output: output.path, writer: "fsprobe (pid \(pid))", watch: watch))
                }
            }
        }
        var bytes: [UInt8] = []
        for entry in entries { bytes += [entry.kind.rawValue] + entry.path + [0] }
        try? FileManager.default.createDirectory(atPath: Self.directory, withIntermediateDirectories: true)
        _ = FileManager.default.createFile(atPath: file, contents: Data(bytes))
        return warnings
    }

    func unregister() { unlink(file) }

    private static func warning(output: [UInt8], watcher: String, watch: Entry) -> String {
        "fsprobe: warning: this fsprobe writes '\(String(lineEscaping: output))', which \(watcher) watches"
            + " (\(describe(watch))): each will report the other's writes without end"
    }

    private static func warning(output: [UInt8], writer: String, watch: Entry) -> String {
        "fsprobe: warning: \(writer) writes '\(String(lineEscaping: output))', which this fsprobe watches"
            + " (\(describe(watch))): each will report the other's writes without end"
    }

    private static func describe(_ watch: Entry) -> String {
        switch watch.kind {
        case .everything: "the whole file system"
        case .children: "the children of '\(String(lineEscaping: watch.path))'"
        default: "'\(String(lineEscaping: watch.path))'"
        }
    }

    /// Whether `watch` covers `path`.
    static func contains(_ watch: Entry, _ path: [UInt8]) -> Bool {
        switch watch.kind {
        case .everything: return true
        case .output: return false
        case .tree:
            return path == watch.path || watch.path == [0x2F] || path.starts(with: watch.path + [0x2F])
        case .children:
            guard let slash = path.lastIndex(of: 0x2F) else { return false }
            let parent = slash == 0 ? [0x2F] : Array(path[..<slash])
            return parent == watch.path || path == watch.path
        }
    }

    /// Every other registered instance whose process still runs, with its
    /// entries; files of instances that are gone are removed.
    private static func runningInstances() -> [(pid: Int32, entries: [Entry])] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        return names.compactMap { name in
            guard let pid = Int32(name), pid != getpid() else { return nil }
            let path = "\(directory)/\(name)"
            guard FileManager.default.contents(atPath: "/proc/\(pid)/comm")?.starts(with: Array("fsprobe".utf8)) == true else {
                unlink(path)
                return nil
            }
            return (pid, entries(in: [UInt8](FileManager.default.contents(atPath: path) ?? Data())))
        }
    }

    private static func entries(in bytes: [UInt8]) -> [Entry] {
        bytes.split(separator: 0, omittingEmptySubsequences: false).dropLast().compactMap { record in
            guard let first = record.first, let kind = Entry.Kind(rawValue: first) else { return nil }
            return Entry(kind: kind, path: Array(record.dropFirst()))
        }
    }

    /// The absolute, symlink-free form of an output path: its directory's
    /// `realpath` (the file itself may not exist yet) and its name.
    static func resolved(_ path: String) -> [UInt8] {
        let absolute = path.hasPrefix("/") ? path : FileManager.default.currentDirectoryPath + "/" + path
        let slash = absolute.lastIndex(of: "/")!
        let parent = slash == absolute.startIndex ? "/" : String(absolute[..<slash])
        let name = String(absolute[absolute.index(after: slash)...])
        guard let real = realpath(parent, nil) else { return Array(absolute.utf8) }
        defer { free(real) }
        let base = String(cString: real)
        return Array((base == "/" ? "/" + name : base + "/" + name).utf8)
    }
}
