import Foundation

/// The size of the file at `path`, in bytes; throws when there is none.
public func fileSize(atPath path: String) throws -> Int {
    (try FileManager.default.attributesOfItem(atPath: path)[.size] as? NSNumber)?.intValue ?? -1
}
