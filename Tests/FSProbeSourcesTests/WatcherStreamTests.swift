import FSProbeCore
@testable import FSProbeSources
import FSProbeTestSupport
import Testing

/// How `Watcher` ends its stream: an error that stops the source reaches
/// the consumer, after the events captured before it, instead of the
/// stream just ending as `close()` ends it.
struct WatcherStreamTests {
    struct RingBufferUnreadable: Error {}

    static func event(_ name: String) throws -> FileEvent {
        try KernelRecordBuilder(type: .open, source: ["w", name]).build().withUnsafeBytes { try KernelRecordDecoder().decode($0) }
    }

    @Test func anErrorThatStopsTheSourceIsThrownAfterTheEventsBeforeIt() async throws {
        let (stream, continuation) = AsyncThrowingStream.makeStream(of: FileEvent.self, throwing: (any Error).self)
        let (first, second) = (try Self.event("a"), try Self.event("b"))
        Watcher.pump({ emit in
            emit(first)
            emit(second)
            throw RingBufferUnreadable()
        }, into: continuation, dropped: DropCounter())
        var received: [String] = []
        await #expect(throws: RingBufferUnreadable.self) {
            for try await event in stream { received.append(event.source.string) }
        }
        #expect(received == ["/w/a", "/w/b"])
    }

    @Test func aSourceThatReturnsEndsTheStreamWithoutError() async throws {
        let (stream, continuation) = AsyncThrowingStream.makeStream(of: FileEvent.self, throwing: (any Error).self)
        let only = try Self.event("a")
        Watcher.pump({ emit in emit(only) }, into: continuation, dropped: DropCounter())
        var count = 0
        for try await _ in stream { count += 1 }
        #expect(count == 1)
    }
}
