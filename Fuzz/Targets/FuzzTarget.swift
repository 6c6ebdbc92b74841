#if canImport(Glibc)
import Glibc
#endif
import FSProbeCore
import FSProbePipeline
import FSProbePipelineFile
import FSProbeSinks
import FSProbeSources
import FSProbeTestSupport
import CFSProbeBPF

/// The inputs fsprobe must survive whatever their bytes: what a crash or a
/// bad disk leaves in a disk buffer, what the kernel hands over, what a
/// person writes in a pipeline file. Each target runs one input and checks
/// what a correct implementation guarantees; a violation traps, which the
/// fuzzer (and the regression tests) report.
///
/// `scripts/fuzz.sh` runs each under libFuzzer; every input that once
/// failed is kept in `Fuzz/Regressions/<target>/` and replayed by the tests.
public enum FuzzTarget: String, CaseIterable, Sendable {
    /// A segment file (the input) and, when its first byte is odd, a state
    /// file (the 36 bytes after it), opened as a disk buffer and read to the end.
    case diskBuffer = "disk-buffer"
    /// The input decoded as one disk-buffer event record.
    case eventCodec = "event-codec"
    /// The input decoded as one kernel ring-buffer record.
    case kernelRecord = "kernel-record"
    /// The input as a pipeline file, validated.
    case pipelineFile = "pipeline-file"
    /// The input decoded as one JSON event (a Kafka message of fsprobe's).
    case eventJSON = "event-json"

    public func run(_ input: UnsafeRawBufferPointer) {
        switch self {
        case .diskBuffer: DiskBufferTarget.run(input)
        case .eventCodec: EventCodecTarget.run(input)
        case .kernelRecord: KernelRecordTarget.run(input)
        case .pipelineFile: PipelineFileTarget.run(input)
        case .eventJSON: EventJSONTarget.run(input)
        }
    }

    public func run(_ input: [UInt8]) {
        input.withUnsafeBytes { run($0) }
    }

    /// Valid inputs to start the fuzzer from, by name: mutations of
    /// well-formed bytes reach far deeper than random ones.
    public var seeds: [(name: String, bytes: [UInt8])] {
        switch self {
        case .diskBuffer: DiskBufferTarget.seeds()
        case .eventCodec: EventCodecTarget.seeds()
        case .kernelRecord: KernelRecordTarget.seeds()
        case .pipelineFile: PipelineFileTarget.seeds()
        case .eventJSON: EventJSONTarget.seeds()
        }
    }
}

/// Hostile-looking events for the seeds: names with a newline, an escape
/// sequence and bytes that are not UTF-8.
func seedEvents() -> [FileEvent] {
    let names: [[UInt8]] = [Array("/etc/passwd".utf8), Array("/tmp/a\nb".utf8), [0x2F, 0x1B, 0x5B, 0x32, 0x4A, 0xFF, 0xC3]]
    return names.enumerated().map { index, name in
        var event = FileEvent(type: index == 1 ? .rename : .open, timestamp: EventTimestamp(nanosecondsSinceEpoch: 1_700_000_000_000_000_000),
                              pid: 100 + UInt32(index), tid: 100, uid: 1000, gid: 1000, comm: ProcessName("seed"), flags: 0, mode: 0o644,
                              retval: 0, source: EventPath(bytes: name, inode: 5, mountID: 1))
        if index == 1 { event.target = EventPath(bytes: Array("/tmp/c".utf8), inode: 5, mountID: 1) }
        return event
    }
}

/// Stops the process with `message` when `condition` fails (in release
/// builds too, unlike `assert`).
func require(_ condition: Bool, _ message: @autoclosure () -> String) {
    if !condition { fatalError(message()) }
}

/// Every event, however hostile its bytes, encodes to exactly one JSON line.
func requireOneJSONLine(_ event: FileEvent) {
    var line: [UInt8] = []
    JSONLineEncoder().encode(event, into: &line)
    require(line.last == UInt8(ascii: "\n") && line.dropLast().allSatisfy { $0 != UInt8(ascii: "\n") },
            "an event encoded to something other than one line")
}

enum DiskBufferTarget {
    /// One directory for the process, emptied before each input.
    static let directory: String = {
        var template = Array("/tmp/fsprobe-fuzz-XXXXXX".utf8CString)
        let made = template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }
        precondition(made != nil, "mkdtemp failed")
        return String(decoding: template.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }()

    static func run(_ input: UnsafeRawBufferPointer) {
        clear()
        var segment = input
        if let first = input.first, first & 1 == 1, input.count >= 37 {
            write(UnsafeRawBufferPointer(rebasing: input[1..<37]), to: directory + "/state")
            segment = UnsafeRawBufferPointer(rebasing: input[37...])
        }
        write(segment, to: directory + "/00000000000000000001.seg")

        let buffer: DiskBuffer
        do {
            buffer = try DiskBuffer(directory: directory, options: .init(maxBytes: 1 << 20, segmentBytes: 64 << 10, sync: .never))
        } catch {
            return  // refusing is allowed: a system call failed
        }
        let recovery = buffer.recovery
        var read = 0
        var batch: [FileEvent] = []
        // Each round consumes at least one record or stretch, so this ends.
        for _ in 0...(input.count + 1) {
            batch.removeAll(keepingCapacity: true)
            guard (try? buffer.readBatch(into: &batch, max: 64, wait: false)) == true else { break }
            for event in batch { requireOneJSONLine(event) }
            read += batch.count
            try? buffer.acknowledge()
            if batch.isEmpty && buffer.queuedEvents == 0 { break }
        }
        require(buffer.queuedEvents == 0, "events left after reading everything")
        // Every replayed record is delivered or counted as skipped.
        let skippedWhileReading = buffer.discardedRecords - recovery.discardedRecords
        require(read + skippedWhileReading == recovery.replayedEvents,
                "replayed \(recovery.replayedEvents), read \(read), skipped \(skippedWhileReading)")
        // What was appended after recovery reads back whole.
        let probe = FileEvent(type: .open, timestamp: EventTimestamp(nanosecondsSinceEpoch: 1), pid: 7, tid: 7, uid: 0, gid: 0,
                              comm: ProcessName("fuzz"), flags: 0, mode: 0, retval: 0,
                              source: EventPath(bytes: Array("/probe".utf8), inode: 1, mountID: 1))
        if (try? buffer.append(contentsOf: [probe])) == 1 {
            batch.removeAll()
            require((try? buffer.readBatch(into: &batch, max: 8, wait: false)) == true && batch == [probe],
                    "an event appended after recovery did not read back")
            try? buffer.acknowledge()
        }
        buffer.close()
        // Everything was acknowledged: a second open replays nothing.
        if let again = try? DiskBuffer(directory: directory, options: .init(sync: .never)) {
            require(again.recovery.replayedEvents == 0, "acknowledged events replayed: \(again.recovery)")
            again.close()
        }
    }

    static func seeds() -> [(name: String, bytes: [UInt8])] {
        clear()
        guard let buffer = try? DiskBuffer(directory: directory, options: .init(sync: .never)) else { return [] }
        _ = try? buffer.append(contentsOf: seedEvents())
        _ = try? buffer.readBatch(max: 1, wait: false)
        try? buffer.acknowledge()
        buffer.close()
        guard let segment = try? read(directory + "/00000000000000000001.seg"), let state = try? read(directory + "/state") else { return [] }
        // Even first byte: the segment alone; odd: a state file first.
        return [("seed-segment", segment), ("seed-state-and-segment", [1] + state + segment)]
    }

    private static func read(_ path: String) throws -> [UInt8] {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw DiskBufferError.system(operation: "open", path: path, errno: errno) }
        defer { close(fd) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = chunk.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress!, $0.count) }
            guard n > 0 else { break }
            bytes += chunk[0..<n]
        }
        return bytes
    }

    private static func clear() {
        guard let dir = opendir(directory) else { return }
        defer { closedir(dir) }
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            if name != "." && name != ".." { unlink(directory + "/" + name) }
        }
    }

    private static func write(_ bytes: UnsafeRawBufferPointer, to path: String) {
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        precondition(fd >= 0, "cannot create \(path)")
        var done = 0
        while done < bytes.count {
            let n = Glibc.write(fd, bytes.baseAddress! + done, bytes.count - done)
            precondition(n > 0, "cannot write \(path)")
            done += n
        }
        close(fd)
    }
}

enum EventCodecTarget {
    static func run(_ input: UnsafeRawBufferPointer) {
        var codec = FileEventCodec()
        guard let event = try? codec.decode(input) else { return }
        requireOneJSONLine(event)
        // What decodes encodes again, and that decodes to the same event.
        var encoded: [UInt8] = []
        var fresh = FileEventCodec()
        fresh.encode(event, into: &encoded)
        var again = FileEventCodec()
        let decoded = try? again.decode(encoded)
        require(decoded == event, "an event did not survive encode-decode")
    }

    static func seeds() -> [(name: String, bytes: [UInt8])] {
        seedEvents().enumerated().map { index, event in
            var codec = FileEventCodec()
            var bytes: [UInt8] = []
            codec.encode(event, into: &bytes)
            return ("seed-event-\(index)", bytes)
        }
    }
}

enum KernelRecordTarget {
    static func run(_ input: UnsafeRawBufferPointer) {
        _ = KernelRecordDecoder.needsUserSpaceFilter(input)
        // A fresh decoder: an input must fail or pass on its own, replayed alone.
        guard let event = try? KernelRecordDecoder().decode(input) else { return }
        requireOneJSONLine(event)
    }

    static func seeds() -> [(name: String, bytes: [UInt8])] {
        var open = KernelRecordBuilder(type: .open, source: ["etc", "pass\nwd"])
        open.executable = ["usr", "bin", "cat"]
        var rename = KernelRecordBuilder(type: .rename, source: ["tmp", "a"])
        rename.target = ["tmp", "\u{1b}[2J"]
        rename.sourceCaller = "../a"
        var xattr = KernelRecordBuilder(type: .setattr, source: ["tmp", "f"])
        xattr.flags = UInt32(FSP_SETATTR_XATTR)
        xattr.xattrName = Array("user.x".utf8) + [0xFF]
        return [("seed-open", open.build()), ("seed-rename", rename.build()), ("seed-xattr", xattr.build())]
    }
}

enum PipelineFileTarget {
    /// Stands for a secret in the environment: no message may show it.
    static let secret = "Zq7-x9Wv3K-pL2m8"
    static let registry = ComponentRegistry(
        [.kernelSource] + ComponentType.coreTransforms + [.stdoutSink, .fileSink, .sqliteSink, .kafkaSink])

    static func run(_ input: UnsafeRawBufferPointer) {
        let text = String(decoding: input, as: UTF8.self)
        let document = PipelineDocument(file: "fuzz.yaml", text: text, environment: ["SECRET": secret, "EMPTY": ""])
        for problem in PipelineValidator(registry: registry).problems(in: document) {
            let message = problem.description
            require(!message.contains("\n") && !message.contains("\r"), "a problem spans lines: \(message.debugDescription)")
            require(text.contains(secret) || !message.contains(secret), "a problem shows a secret: \(message)")
        }
    }

    static func seeds() -> [(name: String, bytes: [UInt8])] {
        let text = """
            sources:
              files: {type: kernel, paths: [/etc, /tmp], events: [open, rename], recursive: true}
            transforms:
              dirs: {type: filter, inputs: [files], event_types: [mkdir], exclude: false}
            sinks:
              out: {type: stdout, inputs: [dirs], format: json, buffer_size: 128}
              stream: {type: kafka, inputs: [files], brokers: "${SECRET}", topic: t, librdkafka: [sasl.password=${SECRET}]}
              spool: {type: file, inputs: [files], path: /tmp/x, buffer_type: disk, buffer_path: /tmp/spool}
            tests:
              - name: a
                event: {event_type: mkdir, src_filename: /tmp/d}
                expect: {out: 1}
            """
        return [("seed-pipeline", Array(text.utf8))]
    }
}

enum EventJSONTarget {
    static func run(_ input: UnsafeRawBufferPointer) {
        // A fresh decoder: an input must fail or pass on its own, replayed alone.
        var decoder = EventJSONDecoder()
        guard let event = try? decoder.decode(input) else { return }
        requireOneJSONLine(event)
        // What decodes writes a line that decodes to an event writing that
        // line again: the decoder reads back all the encoder writes.
        var first: [UInt8] = []
        JSONLineEncoder().encode(event, into: &first)
        var fresh = EventJSONDecoder()
        let again: FileEvent
        do {
            again = try first.withUnsafeBytes { raw in
                try Result { () throws(EventJSONDecodeError) -> FileEvent in try fresh.decode(raw) }.get()
            }
        } catch {
            fatalError("a line the encoder wrote did not decode: \(error): \(String(decoding: first, as: UTF8.self))")
        }
        var second: [UInt8] = []
        JSONLineEncoder().encode(again, into: &second)
        require(first == second, "encode-decode-encode changed the line: \(String(decoding: first, as: UTF8.self)) became \(String(decoding: second, as: UTF8.self))")
    }

    /// Lines of every shape the encoder writes, short enough to mutate.
    static func seeds() -> [(name: String, bytes: [UInt8])] {
        var events = seedEvents()
        let catalogue = EventCatalogue.all
        events += catalogue.filter { $0.process.executable != nil || $0.attributes != nil || $0.type == .rename }
        var origin = catalogue[0]
        origin.origin = EventOrigin(host: "seed-host", stream: 0x0123_4567_89AB_CDEF)
        origin.sequence = 42
        events.append(origin)
        return events.compactMap { event in
            var line: [UInt8] = []
            JSONLineEncoder().encode(event, into: &line)
            return line.count <= 2048 ? line : nil
        }.enumerated().map { ("seed-line-\($0.offset)", $0.element) }
    }
}
