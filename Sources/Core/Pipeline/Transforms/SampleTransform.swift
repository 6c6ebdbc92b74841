/// `type: sample` in a pipeline file: keeps one event in `rate`.
import FSProbeCore
public struct SampleOptions: ComponentOptionsDecodable {
    /// What keeps the events of one thing together: all kept or all dropped.
    public enum Key: String, Sendable, CaseIterable {
        case srcFilename = "src_filename"
        case pid
    }

    public var rate: Int
    public var key: Key?

    public init(_ options: ComponentOptions) throws(ComponentOptionError) {
        let text = try options.required("rate", options.string("rate"))
        guard let rate = Int(text), rate > 0 else {
            throw ComponentOptionError(option: "rate", "expected a positive integer (keep 1 event in rate), got '\(text.lineSafe)'")
        }
        self.rate = rate
        key = try options.choice("key", as: Key.self)
    }
}

/// Keeps one event in `rate`, the same ones on every run.
///
/// Without a key it counts: the 1st, the (rate+1)th... event is kept, so
/// exactly ⌈n / rate⌉ of n events pass. With a key, an event is kept when a
/// hash of its key (source path bytes or pid) falls in one bucket of `rate`:
/// every event of a file or process is kept or dropped together, about one
/// key in `rate` is kept, and the choice is the same in every run and every
/// component (the hash is fixed, not Swift's per-process seeded one).
///
/// A class because it counts; the pipeline calls a transform from one thread
/// only (see `EventTransform`), so the counter needs no lock.
public final class SampleTransform: EventTransform, @unchecked Sendable {
    public let name: String
    private let rate: UInt64
    private let key: SampleOptions.Key?
    /// Events left until the next kept one (1: keep the next).
    private var countdown: UInt64 = 1

    public init(name: String, options: SampleOptions) {
        self.name = name
        self.rate = UInt64(options.rate)
        self.key = options.key
    }

    public func apply(_ event: inout FileEvent) -> Bool {
        switch key {
        case nil:
            countdown -= 1
            guard countdown == 0 else { return false }
            countdown = rate
            return true
        case .srcFilename?:
            return event.source.bytes.withUnsafeBytes { Self.hash($0) } % rate == 0
        case .pid?:
            return withUnsafeBytes(of: event.pid.littleEndian) { Self.hash($0) } % rate == 0
        }
    }

    /// FNV-1a over the bytes, then a finaliser (MurmurHash3's fmix64) so
    /// that the low bits used by `% rate` depend on every input bit.
    static func hash(_ bytes: UnsafeRawBufferPointer) -> UInt64 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in bytes {
            hash = (hash ^ UInt64(byte)) &* 0x0000_0100_0000_01b3
        }
        hash ^= hash >> 33
        hash &*= 0xff51_afd7_ed55_8ccd
        hash ^= hash >> 33
        hash &*= 0xc4ce_b9fe_1a85_ec53
        hash ^= hash >> 33
        return hash
    }
}

extension ComponentType {
    public static let sampleTransform = ComponentType.transform(
        "sample", summary: "keeps one event in rate, the same ones on every run",
        options: [
            OptionSpec("rate", .positiveInteger, required: true, "keep 1 event in this many (1 keeps all)"),
            OptionSpec("key", .choice(SampleOptions.Key.allCases.map(\.rawValue)),
                       "keep or drop all events of a file (src_filename) or a process (pid) together, about 1 key in rate (default: count events)"),
        ]
    ) { (options: SampleOptions, context) in
        SampleTransform(name: context.name, options: options)
    }
}
