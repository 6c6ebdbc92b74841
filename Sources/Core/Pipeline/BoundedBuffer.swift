/// A thread-safe FIFO holding at most `capacity` elements, between one stage
/// of the pipeline and the next.
///
/// Bounded so memory stays bounded whatever the event rate; what happens when
/// it is full is the `OverflowPolicy`, and every element is accounted for in
/// `counts`: accepted, dropped because full, or rejected after `close()`.
///
/// After `close()`, producers get `.closed` at once (also those blocked
/// waiting for room), and consumers still receive every accepted element,
/// then `nil` / `false`. Any number of producers and consumers may use it;
/// the pipeline uses one of each.
import FSProbeCore
public final class BoundedBuffer<Element: Sendable>: @unchecked Sendable {
    public enum PushResult: Sendable, Equatable {
        case accepted
        /// Full, and the policy is `.dropNewest`.
        case dropped
        /// The buffer was closed.
        case closed
    }

    /// Outcome of pushing several elements.
    public struct BatchPushResult: Sendable, Equatable {
        public var accepted = 0
        public var dropped = 0
        public var rejected = 0
    }

    public struct Counts: Sendable, Equatable {
        public var accepted: UInt64 = 0
        /// Elements refused because the buffer was full (`.dropNewest`).
        public var dropped: UInt64 = 0
        /// Elements refused because the buffer was closed.
        public var rejected: UInt64 = 0
    }

    /// The largest capacity a buffer may be given (`-s/--chan-size`,
    /// `buffer_size:`), in elements. Storage grows on demand up to the
    /// capacity, so a large one costs memory only while it fills.
    public static var maxCapacity: Int { 16_777_216 }
    /// Slots allocated at first; doubled whenever the ring is full and
    /// below `capacity`.
    static var initialSlots: Int { 1024 }

    public let capacity: Int
    public let policy: OverflowPolicy

    private let lock = ConditionLock()
    // Ring storage: `stored` elements starting at `head`, in `slotCount`
    // (<= capacity) slots of raw memory, only those `stored` initialized.
    // Raw, not `[Element?]`: an element (a `FileEvent` is 512 bytes) is moved
    // in and out once, where the array's subscript and `Optional.take()`
    // copied it through temporaries (callgrind: 600 instructions of `memcpy`
    // an event between the two threads). Guarded by `lock`, so the runtime's
    // exclusivity check on every access (a thread-local access set, several
    // percent of a busy pipeline's time) is left out.
    @exclusivity(unchecked) private var slots: UnsafeMutablePointer<Element>
    @exclusivity(unchecked) private var slotCount: Int
    @exclusivity(unchecked) private var head = 0
    @exclusivity(unchecked) private var stored = 0
    private var closed = false
    private var waitingProducers = 0
    private var waitingConsumers = 0
    private var tally = Counts()

    public init(capacity: Int, policy: OverflowPolicy = .block) {
        precondition(capacity > 0 && capacity <= Self.maxCapacity, "BoundedBuffer capacity out of range")
        self.capacity = capacity
        self.policy = policy
        self.slotCount = min(capacity, Self.initialSlots)
        self.slots = .allocate(capacity: slotCount)
    }

    deinit {
        while stored > 0 { _ = removeFirst() }
        slots.deallocate()
    }

    /// Adds `element` at the end. With `.block`, waits while the buffer is
    /// full (until a consumer takes one or the buffer is closed).
    ///
    /// `wakingConsumer: false` leaves a waiting consumer asleep: a producer
    /// that pushes a round of events one by one wakes it once, with
    /// `wakeConsumer()`, at the end of the round. A consumer is still woken
    /// before the producer waits for room, so the two never wait on each
    /// other.
    @discardableResult
    public func push(_ element: consuming Element, wakingConsumer: Bool = true) -> PushResult {
        lock.lock()
        defer { lock.unlock() }
        while true {
            if closed {
                tally.rejected += 1
                return .closed
            }
            if stored < capacity { break }
            if policy == .dropNewest {
                tally.dropped += 1
                return .dropped
            }
            if waitingConsumers > 0 { lock.signalNotEmpty() }
            waitingProducers += 1
            lock.waitNotFull()
            waitingProducers -= 1
        }
        append(element)  // moved in: the caller gave the element up
        tally.accepted += 1
        if wakingConsumer && waitingConsumers > 0 { lock.signalNotEmpty() }
        return .accepted
    }

    /// Wakes a consumer waiting for elements, if there are any: the end of
    /// a round pushed with `wakingConsumer: false`.
    public func wakeConsumer() {
        lock.lock()
        defer { lock.unlock() }
        if stored > 0 && waitingConsumers > 0 { lock.signalNotEmpty() }
    }

    /// Adds `elements` in order, as if pushed one by one, taking the lock
    /// once per run of free slots rather than once per element.
    @discardableResult
    public func push(contentsOf elements: some Collection<Element>) -> BatchPushResult {
        var result = BatchPushResult()
        var index = elements.startIndex
        lock.lock()
        defer { lock.unlock() }
        while index != elements.endIndex {
            if closed {
                let rest = elements.distance(from: index, to: elements.endIndex)
                result.rejected += rest
                tally.rejected += UInt64(rest)
                break
            }
            if stored == capacity {
                if policy == .dropNewest {
                    let rest = elements.distance(from: index, to: elements.endIndex)
                    result.dropped += rest
                    tally.dropped += UInt64(rest)
                    break
                }
                waitingProducers += 1
                lock.waitNotFull()
                waitingProducers -= 1
                continue
            }
            while stored < capacity && index != elements.endIndex {
                append(elements[index])
                elements.formIndex(after: &index)
                result.accepted += 1
            }
            if waitingConsumers > 0 { lock.broadcastNotEmpty() }
        }
        tally.accepted += UInt64(result.accepted)
        return result
    }

    /// Takes the oldest element, waiting while the buffer is empty and open.
    /// Returns nil once the buffer is closed and drained.
    public func pop() -> Element? {
        lock.lock()
        defer { lock.unlock() }
        while stored == 0 {
            if closed { return nil }
            waitingConsumers += 1
            lock.waitNotEmpty()
            waitingConsumers -= 1
        }
        let element = removeFirst()
        if waitingProducers > 0 { lock.broadcastNotFull() }
        return element
    }

    /// Takes the oldest element if there is one, without waiting.
    public func tryPop() -> Element? {
        lock.lock()
        defer { lock.unlock() }
        guard stored > 0 else { return nil }
        let element = removeFirst()
        if waitingProducers > 0 { lock.broadcastNotFull() }
        return element
    }

    /// Waits for at least one element, then moves up to `maxCount` into
    /// `batch` (appending). Returns false, appending nothing, once the buffer
    /// is closed and drained. Consumers use this to take the lock once per
    /// batch instead of once per event.
    public func pop(into batch: inout [Element], maxCount: Int) -> Bool {
        precondition(maxCount > 0)
        lock.lock()
        defer { lock.unlock() }
        while stored == 0 {
            if closed { return false }
            waitingConsumers += 1
            lock.waitNotEmpty()
            waitingConsumers -= 1
        }
        for _ in 0..<min(maxCount, stored) { batch.append(removeFirst()) }
        if waitingProducers > 0 { lock.broadcastNotFull() }
        return true
    }

    /// Refuses further elements and wakes every waiting producer and
    /// consumer. Elements already accepted stay to be taken. Idempotent.
    public func close() {
        lock.lock()
        closed = true
        lock.broadcastNotFull()
        lock.broadcastNotEmpty()
        lock.unlock()
    }

    public var isClosed: Bool { withLock { closed } }
    /// Elements waiting to be taken.
    public var count: Int { withLock { stored } }
    public var isEmpty: Bool { count == 0 }
    /// A consistent snapshot of the counters.
    public var counts: Counts { withLock { tally } }
    /// Producers currently waiting for room (lets tests observe blocking
    /// without sleeping).
    var waitingProducerCount: Int { withLock { waitingProducers } }
    /// Consumers currently waiting for an element (for the same tests).
    var waitingConsumerCount: Int { withLock { waitingConsumers } }

    private func withLock<T>(_ body: () -> T) -> T {
        lock.lock()
        defer { lock.unlock() }
        return body()
    }

    // Lock held by callers.
    private func append(_ element: consuming Element) {
        if stored == slotCount { grow() }  // callers checked stored < capacity
        var tail = head + stored
        if tail >= slotCount { tail -= slotCount }
        (slots + tail).initialize(to: element)
        stored += 1
    }

    private func removeFirst() -> Element {
        let element = (slots + head).move()
        head += 1
        if head == slotCount { head = 0 }
        stored -= 1
        return element
    }

    /// Twice the slots (at most `capacity`), the elements moved to the front in order.
    private func grow() {
        let count = min(capacity, slotCount * 2)
        let grown = UnsafeMutablePointer<Element>.allocate(capacity: count)
        let first = min(stored, slotCount - head)  // from head to the end, then from the start
        grown.moveInitialize(from: slots + head, count: first)
        (grown + first).moveInitialize(from: slots, count: stored - first)
        slots.deallocate()
        slots = grown
        slotCount = count
        head = 0
    }
}
