import FSProbeCore
import FSProbePipeline
@testable import FSProbeSources
import XCTest

/// The kernel source's pipeline options: resolution mode and cache sizes.
final class KernelSourceOptionsTests: XCTestCase {
    func options(_ values: [String: String]) throws(ComponentOptionError) -> KernelSourceOptions {
        var all = values.mapValues { OptionValue.scalar($0) }
        all["paths"] = .list(["/tmp"])
        return try KernelSourceOptions(ComponentOptions(component: "k", values: all))
    }

    func rejectedOption(_ values: [String: String]) -> String? {
        do {
            _ = try options(values)
            return nil
        } catch {
            return error.option
        }
    }

    func testResolutionOptionsAreDecoded() throws {
        let decoded = try options(["dentry_resolution_mode": "single_fragment", "kernel_cache_size": "2048",
                                   "path_cache_size": "100"])
        XCTAssertEqual(decoded.probe.resolutionMode, .singleFragment)
        XCTAssertEqual(decoded.probe.effectiveKernelCacheEntries, 2048)
        XCTAssertEqual(decoded.probe.pathCacheEntries, 100)
        let defaults = try options([:])
        XCTAssertEqual(defaults.probe.resolutionMode, .perfBuffer)
        XCTAssertEqual(defaults.probe.effectiveKernelCacheEntries, 16_384)
        XCTAssertEqual(try options(["dentry_resolution_mode": "single_fragment"]).probe.effectiveKernelCacheEntries, 1024)
    }

    func testBadValuesNameTheirOption() {
        XCTAssertEqual(rejectedOption(["dentry_resolution_mode": "magic"]), "dentry_resolution_mode")
        XCTAssertEqual(rejectedOption(["kernel_cache_size": "0"]), "kernel_cache_size")
        XCTAssertEqual(rejectedOption(["dentry_resolution_mode": "single_fragment", "kernel_cache_size": "100000"]),
                       "kernel_cache_size")
        XCTAssertEqual(rejectedOption(["path_cache_size": "2000000"]), "path_cache_size")
        XCTAssertNil(rejectedOption(["kernel_cache_size": "100000"]), "fine outside single_fragment")
    }
}
