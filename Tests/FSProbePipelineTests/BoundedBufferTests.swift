import Foundation
@testable import FSProbeCore
@testable import FSProbePipeline
import Testing

@Suite struct BoundedBufferTests {
    @Test func fifoOrder() {
        let buffer = BoundedBuffer<Int>(capacity: 3)
        for i in 0..<3 { #expect(buffer.push(i) == .accepted) }
        #expect(buffer.pop() == 0)
        #expect(buffer.push(3) == .accepted)  // wraps around the ring
        #expect([buffer.pop(), buffer.pop(), buffer.pop()] == [1, 2, 3])
        #expect(buffer.tryPop() == nil)
    }

    @Test func storageGrowsOnDemandKeepingFIFOOrderAcrossTheWrap() {
        // The largest capacity allocates nothing up front; the ring grows
        // past its first slots while its head is mid-array.
        let buffer = BoundedBuffer<Int>(capacity: BoundedBuffer<Int>.maxCapacity)
        var next = 0, expected = 0
        for _ in 0..<700 { buffer.push(next); next += 1 }
        for _ in 0..<500 { #expect(buffer.pop() == expected); expected += 1 }
        for _ in 0..<5000 { buffer.push(next); next += 1 }  // wraps, then grows twice
        #expect(buffer.count == next - expected)
        while let value = buffer.tryPop() { #expect(value == expected); expected += 1 }
        #expect(expected == next)

        let small = BoundedBuffer<Int>(capacity: 3000, policy: .dropNewest)  // grows to its capacity, no further
        for i in 0..<3500 { small.push(i) }
        #expect(small.count == 3000 && small.counts.dropped == 500)
    }

    /// The ring is raw memory: each element must be released exactly once,
    /// whether it was taken, moved by a growth across the wrap, or still
    /// held when the buffer went away.
    @Test func everyElementIsReleasedOnceTakenMovedOrLeft() {
        final class Tracked: @unchecked Sendable {  // one thread
            let released: Box
            init(_ released: Box) { self.released = released }
            deinit { released.count += 1 }
        }
        final class Box: @unchecked Sendable { var count = 0 }
        let released = Box()
        do {
            let buffer = BoundedBuffer<Tracked>(capacity: 5000)
            for _ in 0..<700 { buffer.push(Tracked(released)) }
            for _ in 0..<500 { _ = buffer.pop() }
            #expect(released.count == 500)
            for _ in 0..<1500 { buffer.push(Tracked(released)) }  // wraps, then grows
            #expect(released.count == 500 && buffer.count == 1700)
            var batch: [Tracked] = []
            #expect(buffer.pop(into: &batch, maxCount: 100) && batch.count == 100)
            batch.removeAll()
            #expect(released.count == 600)
        }
        #expect(released.count == 2200, "the 1,600 left in the buffer are released with it")
    }

    /// A full one-element buffer (holding 1) and a producer parked on it,
    /// pushing 2: `pushed` is signalled once its push returned, in `result`.
    private func parkedProducer() -> (buffer: BoundedBuffer<Int>, result: ResultBox, pushed: DispatchSemaphore) {
        let buffer = BoundedBuffer<Int>(capacity: 1, policy: .block)
        #expect(buffer.push(1) == .accepted)
        let pushed = DispatchSemaphore(value: 0)
        let result = ResultBox()
        DispatchQueue.global().async {
            result.value = buffer.push(2)
            pushed.signal()
        }
        // Wait until the producer is parked on the full buffer (no sleeping).
        while buffer.waitingProducerCount == 0 { sched_yield() }
        return (buffer, result, pushed)
    }

    @Test func blockPolicyMakesProducerWaitForConsumer() {
        let (buffer, result, pushed) = parkedProducer()
        #expect(buffer.count == 1)
        #expect(buffer.pop() == 1)  // makes room: the producer may go on
        pushed.wait()
        #expect(result.value == .accepted)
        #expect(buffer.pop() == 2)
        #expect(buffer.counts == .init(accepted: 2, dropped: 0, rejected: 0))
    }

    @Test func closeWakesBlockedProducer() {
        let (buffer, result, pushed) = parkedProducer()
        buffer.close()
        pushed.wait()
        #expect(result.value == .closed)
        #expect(buffer.pop() == 1)  // accepted elements survive close
        #expect(buffer.pop() == nil)
    }

    @Test func dropNewestCountsExactly() {
        let buffer = BoundedBuffer<Int>(capacity: 10, policy: .dropNewest)
        var results: [BoundedBuffer<Int>.PushResult] = []
        for i in 0..<25 { results.append(buffer.push(i)) }
        #expect(results.filter { $0 == .accepted }.count == 10)
        #expect(results.filter { $0 == .dropped }.count == 15)
        let batch = buffer.push(contentsOf: 100..<105)
        #expect(batch == .init(accepted: 0, dropped: 5, rejected: 0))
        #expect(buffer.pop() == 0)
        #expect(buffer.push(contentsOf: [200, 201]) == .init(accepted: 1, dropped: 1, rejected: 0))
        #expect(buffer.counts == .init(accepted: 11, dropped: 21, rejected: 0))
        var drained: [Int] = []
        buffer.close()
        while buffer.pop(into: &drained, maxCount: 4) {}
        #expect(drained == Array(1..<10) + [200])
    }

    @Test func closedBufferRejectsAndDrains() {
        let buffer = BoundedBuffer<Int>(capacity: 4)
        buffer.push(contentsOf: [1, 2])
        buffer.close()
        #expect(buffer.push(3) == .closed)
        #expect(buffer.push(contentsOf: [4, 5]) == .init(accepted: 0, dropped: 0, rejected: 2))
        var batch: [Int] = []
        #expect(buffer.pop(into: &batch, maxCount: 10))
        #expect(batch == [1, 2])
        #expect(!buffer.pop(into: &batch, maxCount: 10))
        #expect(buffer.pop() == nil)
        #expect(buffer.counts == .init(accepted: 2, dropped: 0, rejected: 3))
    }

    @Test func closeWakesBlockedConsumer() {
        let buffer = BoundedBuffer<Int>(capacity: 1)
        let done = DispatchSemaphore(value: 0)
        let result = ResultBox()
        DispatchQueue.global().async {
            result.popped = buffer.pop()
            done.signal()
        }
        buffer.close()
        done.wait()
        #expect(result.popped == nil)
    }

    @Test func batchPushBlocksUntilAllFit() {
        let buffer = BoundedBuffer<Int>(capacity: 3, policy: .block)
        let done = DispatchSemaphore(value: 0)
        DispatchQueue.global().async {
            buffer.push(contentsOf: 0..<1000)
            buffer.close()
            done.signal()
        }
        var received: [Int] = []
        while let value = buffer.pop() { received.append(value) }
        done.wait()
        #expect(received == Array(0..<1000))
        #expect(buffer.counts.accepted == 1000)
    }

    /// A round pushed without waking the consumer reaches it at `wakeConsumer()`.
    @Test func quietRoundReachesTheConsumerWhenWoken() {
        let buffer = BoundedBuffer<Int>(capacity: 16)
        let done = DispatchSemaphore(value: 0)
        let result = ResultBox()
        DispatchQueue.global().async {
            var batch: [Int] = []
            _ = buffer.pop(into: &batch, maxCount: 16)
            result.batch = batch
            done.signal()
        }
        while buffer.waitingConsumerCount == 0 { sched_yield() }
        for value in 1...3 { #expect(buffer.push(value, wakingConsumer: false) == .accepted) }
        buffer.wakeConsumer()
        #expect(done.wait(timeout: .now() + 30) == .success, "the consumer was not woken")
        #expect(result.batch == [1, 2, 3])
    }

    /// A producer that never wakes the consumer itself still cannot wait for
    /// room while the consumer waits for elements: it wakes it first.
    @Test func quietProducerOnAFullBufferWakesTheConsumerFirst() {
        let buffer = BoundedBuffer<Int>(capacity: 4, policy: .block)
        let done = DispatchSemaphore(value: 0)
        let result = ResultBox()
        DispatchQueue.global().async {
            var received: [Int] = []
            while buffer.pop(into: &received, maxCount: 4) {}
            result.batch = received
            done.signal()
        }
        while buffer.waitingConsumerCount == 0 { sched_yield() }
        DispatchQueue.global().async {  // on a thread of its own: a deadlock fails the test, not hangs it
            for value in 0..<1000 { buffer.push(value, wakingConsumer: false) }
            buffer.close()
        }
        #expect(done.wait(timeout: .now() + 30) == .success, "producer and consumer waited on each other")
        #expect(result.batch == Array(0..<1000))
    }

    @Test func manyProducersLoseNothing() {
        let buffer = BoundedBuffer<Int>(capacity: 8, policy: .block)
        let group = DispatchGroup()
        for producer in 0..<4 {
            DispatchQueue.global().async(group: group) {
                for i in 0..<2500 { buffer.push(producer * 10_000 + i) }
            }
        }
        group.notify(queue: .global()) { buffer.close() }
        var received: [Int] = []
        while let value = buffer.pop() { received.append(value) }
        #expect(received.count == 10_000)
        for producer in 0..<4 {  // each producer's elements stay in order
            let mine = received.filter { $0 / 10_000 == producer }
            #expect(mine == mine.sorted())
        }
    }
}

/// Carries a result out of a background closure; reads happen after a semaphore wait.
final class ResultBox: @unchecked Sendable {
    var value: BoundedBuffer<Int>.PushResult?
    var popped: Int?
    var batch: [Int] = []
}
