import FSProbeCore
import FSProbePipeline

/// Turns a validated pipeline file into a runnable topology: builds every
/// component with its registered constructor, in file order.
///
/// Constructors may do I/O (open a file, load BPF programs, connect), so the
/// file must have passed `PipelineValidator` first: nothing is built from a
/// file with problems. If a constructor fails, the sinks already built are
/// closed and the error names the component and where it is declared.
public struct PipelineBuilder: Sendable {
    public let registry: ComponentRegistry

    public init(registry: ComponentRegistry) {
        self.registry = registry
    }

    /// The topology, and the built components by name (callers report on
    /// their sources, e.g. which kernel backend runs; a sink with a disk
    /// buffer is its `DiskBufferedSink`).
    /// - Parameter onDeliveryError: errors of disk-buffered sinks' delivery
    ///   threads (the pipeline reports the others); called from those threads.
    /// - Parameter reusing: sources already running, by name, taken as they
    ///   are instead of built (a reload keeps the unchanged ones).
    public func build(_ document: PipelineDocument, reusing: [String: any EventSource] = [:],
                      onDeliveryError: @escaping @Sendable (DiskBufferedSink.DeliveryError) -> Void = { _ in }) throws(PipelineBuildError) -> (topology: PipelineTopology, components: [(name: String, component: BuiltComponent)]) {
        let problems = PipelineValidator(registry: registry).problems(in: document)
        if !problems.isEmpty { throw PipelineBuildError(problems: problems) }
        var topology = PipelineTopology()
        var built: [(name: String, component: BuiltComponent)] = []
        for declaration in document.components {
            let options = declaration.componentOptions
            let component: BuiltComponent
            let edge: EdgeOptions
            do {
                // The validator accepted both; decoding again cannot fail.
                edge = try EdgeOptions(options)
                if declaration.role == .source, let running = reusing[declaration.name] {
                    component = .source(running)
                } else {
                    component = try registry.type(named: declaration.type ?? "", role: declaration.role)!.build(options, context: ComponentContext(name: declaration.name) { [document] in document.redacted($0) })
                }
            } catch {
                Self.closeSinks(built)
                let problem = PipelineProblem(declaration.location,
                                              document.redacted("cannot start '\(declaration.name)' (\(declaration.type ?? "")): \(error)"))
                throw PipelineBuildError(problems: [problem])
            }
            built.append((declaration.name, component))
            let node: PipelineTopology.Component
            switch component {
            case .source(let source): node = .source(source)
            case .transform(let transform): node = .transform(transform)
            case .sink(let sink):
                do {
                    let outer = try edge.disk.map { try $0.wrap(sink, onDeliveryError: onDeliveryError) } ?? sink
                    node = .sink(outer)
                    // Callers see the disk buffer (what it recovered, its counters).
                    built[built.count - 1].component = .sink(outer)
                } catch {
                    Self.closeSinks(built)
                    let problem = PipelineProblem(declaration.location, "cannot start the disk buffer of '\(declaration.name)': \(error)")
                    throw PipelineBuildError(problems: [problem])
                }
            }
            // With a disk buffer, when_full governs the disk; the memory buffer in front blocks.
            topology.add(declaration.name, node, inputs: declaration.inputs.map(\.name),
                         bufferCapacity: edge.bufferSize, overflowPolicy: edge.disk == nil ? edge.whenFull : .block)
        }
        return (topology, built)
    }

    private static func closeSinks(_ built: [(name: String, component: BuiltComponent)]) {
        for case (_, .sink(let sink)) in built { try? sink.close() }
    }
}

/// The options every transform and sink takes for the buffer in front of it.
struct EdgeOptions: ComponentOptionsDecodable {
    var bufferSize: Int?
    var whenFull: OverflowPolicy
    /// Set when a sink asks for `buffer_type: disk`.
    var disk: DiskBufferSettings?

    init(_ options: ComponentOptions) throws(ComponentOptionError) {
        bufferSize = try options.integer("buffer_size")
        if let size = bufferSize, !(1...BoundedBuffer<FileEvent>.maxCapacity).contains(size) {
            throw ComponentOptionError(option: "buffer_size",
                                       "expected 1 to \(BoundedBuffer<FileEvent>.maxCapacity) events, got \(size)")
        }
        whenFull = try options.choice("when_full", as: OverflowPolicy.self) ?? .block
        switch try options.string("buffer_type") ?? "memory" {
        case "memory":
            for name in DiskBufferSettings.optionNames where options.contains(name) {
                throw ComponentOptionError(option: name, "applies only with buffer_type: disk")
            }
        case "disk":
            disk = try DiskBufferSettings(options, whenFull: whenFull)
        case let other:
            throw ComponentOptionError(option: "buffer_type", "expected memory or disk, got '\(other)'")
        }
    }
}

/// `buffer_type: disk` on a sink: events wait in a directory, bounded, and
/// survive a sink outage and a restart (`DiskBufferedSink`).
struct DiskBufferSettings: Sendable {
    static let optionNames = ["buffer_path", "buffer_max_bytes", "buffer_fsync", "buffer_drain_timeout_ms"]
    var path: String
    var buffer = DiskBuffer.Options()
    var sink = DiskBufferedSink.Options()

    init(_ options: ComponentOptions, whenFull: OverflowPolicy) throws(ComponentOptionError) {
        path = try options.required("buffer_path", options.string("buffer_path"))
        guard path.hasPrefix("/") else {
            throw ComponentOptionError(option: "buffer_path", "expected an absolute directory path, got '\(path.lineSafe)'")
        }
        if let maxBytes = try options.integer("buffer_max_bytes", in: (1 << 20)...Int.max) { buffer.maxBytes = maxBytes }
        buffer.segmentBytes = min(buffer.segmentBytes, max(buffer.maxBytes / 4, 64 << 10))
        if let sync = try options.choice("buffer_fsync", as: DiskBuffer.SyncPolicy.self) { buffer.sync = sync }
        if let drain = try options.integer("buffer_drain_timeout_ms", in: 0...86_400_000) { sink.drainTimeout = .milliseconds(drain) }
        sink.whenFull = whenFull
    }

    func wrap(_ sink: any EventSink, onDeliveryError: @escaping @Sendable (DiskBufferedSink.DeliveryError) -> Void) throws -> DiskBufferedSink {
        try DiskBufferedSink(inner: sink, directory: path, bufferOptions: buffer, options: self.sink, errorHandler: onDeliveryError)
    }
}

/// Why a pipeline file could not be started: its problems, each located.
public struct PipelineBuildError: Error, Sendable, CustomStringConvertible {
    public let problems: [PipelineProblem]

    public var description: String { problems.map(\.description).joined(separator: "\n") }
}
