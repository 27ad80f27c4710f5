/// A hashed timing wheel (Varghese and Lauck): scheduling and cancelling a timer are O(1), and
/// moving the wheel forward costs the timers that come due plus a visit of each slot passed.
///
/// The transaction layer arms and cancels several timers per transaction (A, B, D, E, F, K...),
/// nearly all of which are cancelled before they fire; a binary heap pays O(log n) to insert and
/// O(n) to remove an arbitrary entry, which at thousands of calls per second dominates the
/// signalling thread. Here a timer is a node in a slab (reused through a free list) and a
/// generation-tagged entry in the slot of its deadline; cancelling bumps the node's generation,
/// and the stale slot entry is dropped when the wheel passes it.
///
/// Sans-I/O: time is whatever the owner passes in (nanoseconds on a monotonic clock). A timer never
/// fires early; it fires at most one tick late.
///
/// Inlinable so that users in other modules get it specialized for their payload: unspecialized,
/// every access went through the payload's metadata and value witnesses.
public struct SIPTimerWheel<Payload> {
    /// One scheduled timer; stale once it fired or was cancelled (a later timer may reuse its node,
    /// never its generation).
    public struct Handle: Hashable, Sendable {
        @usableFromInline var index: Int32
        @usableFromInline var generation: UInt32

        @inlinable init(index: Int32, generation: UInt32) {
            self.index = index
            self.generation = generation
        }

        /// No timer: cancelling it does nothing.
        public static var none: Handle { Handle(index: -1, generation: 0) }
    }

    @usableFromInline struct Node {
        @usableFromInline var generation: UInt32
        @usableFromInline var due: Int64
        /// Whether the node holds an armed timer (tested without copying the payload).
        @usableFromInline var armed: Bool
        @usableFromInline var payload: Payload?

        @inlinable init(generation: UInt32 = 1, due: Int64 = 0, armed: Bool = false, payload: Payload? = nil) {
            self.generation = generation
            self.due = due
            self.armed = armed
            self.payload = payload
        }
    }

    @usableFromInline struct Entry: Sendable {
        @usableFromInline var index: Int32
        @usableFromInline var generation: UInt32

        @inlinable init(index: Int32, generation: UInt32) {
            self.index = index
            self.generation = generation
        }
    }

    /// Nanoseconds per tick.
    public let tickNanoseconds: Int64
    @usableFromInline var nodes: [Node] = []
    @usableFromInline var free: [Int32] = []
    @usableFromInline var slots: [[Entry]]
    @usableFromInline let mask: Int64
    /// The last tick the wheel has passed.
    @usableFromInline var current: Int64
    /// Timers armed.
    public var count: Int { armedCount }
    @usableFromInline var armedCount = 0

    /// - Parameters:
    ///   - tickNanoseconds: the resolution (a timer fires at most this late).
    ///   - slotCount: slots per revolution, rounded up to a power of two; timers further out than
    ///     one revolution stay in their slot for as many revolutions as they need.
    ///   - now: the current time.
    public init(tickNanoseconds: Int64 = 10_000_000, slotCount: Int = 1024, now: Int64) {
        precondition(tickNanoseconds > 0 && slotCount > 0)
        var size = 1
        while size < slotCount { size <<= 1 }
        self.tickNanoseconds = tickNanoseconds
        self.slots = Array(repeating: [], count: size)
        self.mask = Int64(size - 1)
        self.current = now / tickNanoseconds
    }

    /// Arms a timer for `deadline` (a deadline already passed fires on the next advance).
    @inlinable
    public mutating func schedule(at deadline: Int64, _ payload: Payload) -> Handle {
        let (quotient, remainder) = deadline.quotientAndRemainder(dividingBy: tickNanoseconds)
        let due = max(remainder > 0 ? quotient + 1 : quotient, current + 1)
        let index: Int32
        if let reused = free.popLast() {
            index = reused
            nodes[Int(index)].due = due
            nodes[Int(index)].armed = true
            nodes[Int(index)].payload = payload
        } else {
            index = Int32(nodes.count)
            nodes.append(Node(due: due, armed: true, payload: payload))
        }
        let generation = nodes[Int(index)].generation
        slots[Int(due & mask)].append(Entry(index: index, generation: generation))
        armedCount += 1
        return Handle(index: index, generation: generation)
    }

    /// Whether `handle` is armed.
    @inlinable
    public func isArmed(_ handle: Handle) -> Bool {
        guard handle.index >= 0, Int(handle.index) < nodes.count else { return false }
        let i = Int(handle.index)
        return nodes[i].generation == handle.generation && nodes[i].armed
    }

    /// Disarms the timer and returns its payload; nil when it had fired or been cancelled already.
    @inlinable @discardableResult
    public mutating func cancel(_ handle: Handle) -> Payload? {
        guard isArmed(handle) else { return nil }
        let i = Int(handle.index)
        let payload = nodes[i].payload.take()
        nodes[i].armed = false
        nodes[i].generation &+= 1
        if nodes[i].generation == 0 { nodes[i].generation = 1 }
        free.append(handle.index)
        armedCount -= 1
        return payload
    }

    /// Moves the wheel to `now` and appends the timers that came due to `due`, earliest slot
    /// first. They stay armed until taken with ``cancel(_:)``, which returns the payload to act
    /// on: a timer cancelled by an earlier one of the same batch is then skipped. Every handle
    /// appended must be taken.
    @inlinable
    public mutating func advance(to now: Int64, into due: inout [Handle]) {
        let target = now / tickNanoseconds
        guard target > current else { return }
        let steps = min(target - current, mask + 1)
        var tick = current + 1
        current = target
        for _ in 0..<steps {
            let slot = Int(tick & mask)
            tick += 1
            guard !slots[slot].isEmpty else { continue }
            var entries = slots[slot]
            slots[slot] = []
            var kept = 0
            for entry in entries {
                let i = Int(entry.index)
                guard nodes[i].generation == entry.generation, nodes[i].armed else { continue }
                if nodes[i].due <= target {
                    due.append(Handle(index: entry.index, generation: entry.generation))
                } else {
                    entries[kept] = entry
                    kept += 1
                }
            }
            entries.removeSubrange(kept...)
            slots[slot] = entries
        }
    }
}

extension SIPTimerWheel: Sendable where Payload: Sendable {}
extension SIPTimerWheel.Node: Sendable where Payload: Sendable {}
