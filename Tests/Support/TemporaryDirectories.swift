import Foundation

/// A fresh directory for one test, named after it (`rm -rf` first); the
/// caller removes it.
public func makeScratch(_ name: String, prefix: String = "fsprobe-test") throws -> String {
    let base = FileManager.default.temporaryDirectory.resolvingSymlinksInPath().path
    let path = "\(base)/\(prefix)-\(name.filter { $0.isLetter || $0.isNumber })-\(getpid())"
    try? FileManager.default.removeItem(atPath: path)
    try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    return path
}

/// A new, uniquely named directory (`mkdtemp`), as its real path: paths
/// compared with what the kernel reports must not go through a symlink.
/// The caller removes it.
public func makeTemporaryDirectory(_ prefix: String) throws -> String {
    let base = FileManager.default.temporaryDirectory.resolvingSymlinksInPath().path
    var template = Array("\(base)/\(prefix)-XXXXXX".utf8CString)
    guard let made = template.withUnsafeMutableBufferPointer({ mkdtemp($0.baseAddress!) }) else {
        throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: "\(base)/\(prefix)-XXXXXX"])
    }
    return String(cString: made)
}

/// A new, uniquely named directory, as a URL; the caller removes it.
public func makeTemporaryDirectory() throws -> URL {
    URL(fileURLWithPath: try makeTemporaryDirectory("fsprobe-dir"))
}
