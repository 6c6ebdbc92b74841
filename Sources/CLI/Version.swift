import FSProbeSources

/// What `fsprobe --version` prints.
enum FSProbeVersion {
    /// The release, raised with each one (packaging reads it too).
    static let number = "0.9.0"

    static var line: String { "fsprobe \(number) (BPF object sha256 \(BPFObject.sha256))" }
}
