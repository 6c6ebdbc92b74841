import FSProbeFuzzTargets

#if FUZZING
// Built by scripts/fuzz.sh with -sanitize=fuzzer: libFuzzer's main calls
// these; FSPROBE_FUZZ_TARGET names the target.
#if canImport(Glibc)
import Glibc
#endif

nonisolated(unsafe) private var target: FuzzTarget?

@_cdecl("LLVMFuzzerInitialize")
public func initialize(_ argc: UnsafeMutablePointer<Int32>, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>) -> Int32 {
    let name = getenv("FSPROBE_FUZZ_TARGET").map { String(cString: $0) } ?? ""
    guard let chosen = FuzzTarget(rawValue: name) else {
        let message = "fsprobe-fuzz: set FSPROBE_FUZZ_TARGET to one of \(FuzzTarget.allCases.map(\.rawValue).joined(separator: ", "))\n"
        _ = message.withCString { write(2, $0, strlen($0)) }
        exit(2)
    }
    target = chosen
    return 0
}

@_cdecl("LLVMFuzzerTestOneInput")
public func testOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    target?.run(UnsafeRawBufferPointer(start: data, count: size))
    return 0
}

@_silgen_name("LLVMFuzzerRunDriver")
private func runDriver(_ argc: UnsafeMutablePointer<Int32>, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>,
                       _ callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> Int32) -> Int32

/// The executable's entry point (the package manager links an
/// executable's main under this name): libFuzzer's driver, run on the
/// command line's arguments.
@_cdecl("fsprobe_fuzz_main")
public func fuzzMain(_ argc: Int32, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> Int32 {
    var count = argc
    var arguments = argv
    return runDriver(&count, &arguments) { testOneInput($0, $1) }
}
#else
import Foundation

/// Without the fuzzer: `fsprobe-fuzz TARGET FILE...` runs each file through
/// the target once (to reproduce what the fuzzer found);
/// `fsprobe-fuzz --seeds TARGET DIR` writes the target's seed inputs to DIR.
@main
enum FuzzReplay {
    static func main() throws {
        var arguments = CommandLine.arguments.dropFirst()
        let writeSeeds = arguments.first == "--seeds"
        if writeSeeds { arguments = arguments.dropFirst() }
        guard let name = arguments.first, let target = FuzzTarget(rawValue: name) else {
            FileHandle.standardError.write(Data("usage: fsprobe-fuzz [--seeds] \(FuzzTarget.allCases.map(\.rawValue).joined(separator: "|")) FILE...|DIR\n".utf8))
            exit(2)
        }
        if writeSeeds, let directory = arguments.dropFirst().first {
            for seed in target.seeds {
                try Data(seed.bytes).write(to: URL(fileURLWithPath: directory).appendingPathComponent(seed.name))
            }
            return
        }
        for path in arguments.dropFirst() {
            target.run([UInt8](try Data(contentsOf: URL(fileURLWithPath: path))))
            print("fsprobe-fuzz: \(name): \(path): ok")
        }
    }
}
#endif
