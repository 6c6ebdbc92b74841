#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Converts kernel timestamps (CLOCK_BOOTTIME, what `bpf_ktime_get_boot_ns`
/// returns) to wall-clock time.
///
/// The offset is taken once: the kernel stamps events with a monotonic clock
/// that keeps counting through suspend, and a per-event clock_gettime would
/// cost a syscall on the hot path.
public struct BootClock: Sendable {
    public let realtimeMinusBoottime: Int64

    public init() {
        self.init(realtimeMinusBoottime: Self.now(CLOCK_REALTIME) - Self.now(CLOCK_BOOTTIME))
    }

    public init(realtimeMinusBoottime: Int64) {
        self.realtimeMinusBoottime = realtimeMinusBoottime
    }

    public func epochNanoseconds(fromBoot boot: UInt64) -> Int64 {
        Int64(truncatingIfNeeded: boot) &+ realtimeMinusBoottime
    }

    static func now(_ clock: clockid_t) -> Int64 {
        var ts = timespec()
        clock_gettime(clock, &ts)
        return Int64(ts.tv_sec) * 1_000_000_000 + Int64(ts.tv_nsec)
    }
}
