public import NIOCore

/// An adaptive jitter buffer for one audio stream, as a sans-I/O state machine: packets go in
/// with their arrival time, frames come out at their playout time, and the caller's clock is
/// passed in on every call (so tests drive it with a fake clock).
///
/// - Payloads are copied into fixed-size slots preallocated at creation: nothing is allocated
///   per packet.
/// - Frames come out in sequence (and so timestamp) order. When the next frame is missing while
///   later packets are buffered, ``playout(at:into:)`` reports it as ``JitterBufferPlayout/missing(_:)``
///   so the decoder conceals it, saying whether the packet after it is present (for FEC, see
///   ``copyPayload(sequenceNumber:into:)``). An empty buffer is not a loss: DTX and silence
///   suppression send no packets, and the sequence numbers carry no gap.
/// - Duplicates and packets that arrive after their turn are dropped and counted.
/// - An SSRC change, a sequence jump beyond the window, or a timestamp jump beyond
///   ``Configuration/maximumTimestampJump`` resynchronises the buffer on the new packet.
/// - The playout delay adapts only at talkspurt starts (marker bit), where a change is not
///   audible: the talkspurt's first packet is scheduled at its arrival plus the target delay
///   clamp(k · jitter + frame duration, minimum, maximum), never before the previous frame ends.
public struct JitterBuffer: Sendable {
    /// Sizes and delay bounds of a jitter buffer.
    public struct Configuration: Sendable, Equatable {
        /// The stream's RTP clock rate, in Hz.
        public var clockRate: Int
        /// The number of packet slots and the reorder window, rounded up to a power of two
        /// (2...1024).
        public var capacity: Int
        /// The largest payload a slot holds; larger packets are dropped.
        public var maximumPayloadSize: Int
        /// The frame duration assumed until two consecutive packets show the real one.
        public var frameDuration: TimeAmount
        /// The delay before the first frame plays, before any jitter has been measured.
        public var initialDelay: TimeAmount
        /// The smallest target delay.
        public var minimumDelay: TimeAmount
        /// The largest target delay.
        public var maximumDelay: TimeAmount
        /// k in clamp(k · jitter + frame duration, minimum, maximum).
        public var jitterMultiplier: Double
        /// A timestamp further than this from where the sequence number puts it resynchronises.
        public var maximumTimestampJump: TimeAmount

        /// A configuration; the defaults suit 20 ms audio frames.
        public init(
            clockRate: Int,
            capacity: Int = 64,
            maximumPayloadSize: Int = 1500,
            frameDuration: TimeAmount = .milliseconds(20),
            initialDelay: TimeAmount = .milliseconds(60),
            minimumDelay: TimeAmount = .milliseconds(20),
            maximumDelay: TimeAmount = .milliseconds(500),
            jitterMultiplier: Double = 3,
            maximumTimestampJump: TimeAmount = .seconds(10)
        ) {
            self.clockRate = clockRate
            self.capacity = capacity
            self.maximumPayloadSize = maximumPayloadSize
            self.frameDuration = frameDuration
            self.initialDelay = initialDelay
            self.minimumDelay = minimumDelay
            self.maximumDelay = maximumDelay
            self.jitterMultiplier = jitterMultiplier
            self.maximumTimestampJump = maximumTimestampJump
        }
    }

    /// What happened to an inserted packet.
    public enum InsertOutcome: Equatable, Hashable, Sendable {
        /// Buffered for playout.
        case accepted
        /// Buffered after resynchronising on it (new SSRC, sequence or timestamp jump); the frames
        /// buffered before were discarded.
        case resynchronised
        /// Already buffered or already played; dropped.
        case duplicate
        /// Its turn has passed (played as missing, behind the window, or from the SSRC that the
        /// current one replaced); dropped.
        case late
        /// Larger than a slot; dropped.
        case oversized
    }

    /// Counters since creation.
    public struct Statistics: Equatable, Hashable, Sendable {
        /// Packets offered to ``JitterBuffer/insert(sequenceNumber:timestamp:marker:ssrc:payload:arrival:)``.
        public var received = 0
        /// Frames played out.
        public var played = 0
        /// Frames reported missing (to conceal).
        public var missing = 0
        /// Duplicates dropped.
        public var duplicates = 0
        /// Late packets dropped.
        public var late = 0
        /// Oversized packets dropped.
        public var oversized = 0
        /// Resynchronisations.
        public var resynchronisations = 0
        /// Buffered frames discarded by resynchronisation.
        public var discarded = 0
    }

    @usableFromInline
    enum SlotState: Sendable {
        case empty
        case filled
        case played
        case missing
    }

    @usableFromInline
    struct Slot: Sendable {
        var state: SlotState = .empty
        var sequence: UInt16 = 0
        var timestamp: UInt32 = 0
        var marker = false
        var length = 0
        var arrival = NIODeadline.uptimeNanoseconds(0)
    }

    /// The configuration, with values clamped to workable ranges.
    public let configuration: Configuration
    private var slots: [Slot]
    private var storage: [UInt8]
    /// Counters since creation.
    public private(set) var statistics = Statistics()

    private var started = false
    private var ssrc: UInt32 = 0
    private var nextSequence: UInt16 = 0
    private var nextTimestamp: UInt32 = 0
    private var buffered = 0
    private var anchorTimestamp: UInt32 = 0
    private var anchorTime = NIODeadline.uptimeNanoseconds(0)
    private var anchoredSequence: UInt16 = 0
    private var lastPlayoutEnd: NIODeadline?
    private var frameTicks: UInt32
    private var lastArrival = NIODeadline.uptimeNanoseconds(0)
    private var lastArrivalTimestamp: UInt32 = 0
    private var hasArrival = false
    private var jitterNanoseconds: Double = 0
    /// The delay the current talkspurt was scheduled with.
    public private(set) var targetDelay: TimeAmount
    private var jumpCandidate: UInt16?
    private var retiredSSRC: UInt32?

    /// A buffer with all slots allocated now.
    public init(configuration: Configuration) {
        var configuration = configuration
        configuration.clockRate = min(max(configuration.clockRate, 1), 1_000_000)
        // A power of two, so that slot indices stay consistent across the sequence number wrap.
        var capacity = 2
        while capacity < min(configuration.capacity, 1024) { capacity <<= 1 }
        configuration.capacity = capacity
        configuration.maximumPayloadSize = min(max(configuration.maximumPayloadSize, 1), 65536)
        let limit = Int64(60_000_000_000)
        func clamp(_ value: TimeAmount, _ low: Int64) -> TimeAmount { .nanoseconds(min(max(value.nanoseconds, low), limit)) }
        configuration.frameDuration = clamp(configuration.frameDuration, 1_000_000)
        configuration.minimumDelay = clamp(configuration.minimumDelay, 0)
        configuration.maximumDelay = clamp(configuration.maximumDelay, configuration.minimumDelay.nanoseconds)
        configuration.initialDelay = .nanoseconds(
            min(max(configuration.initialDelay.nanoseconds, configuration.minimumDelay.nanoseconds), configuration.maximumDelay.nanoseconds)
        )
        configuration.maximumTimestampJump = clamp(configuration.maximumTimestampJump, configuration.frameDuration.nanoseconds)
        if !configuration.jitterMultiplier.isFinite || configuration.jitterMultiplier < 0 { configuration.jitterMultiplier = 3 }
        configuration.jitterMultiplier = min(configuration.jitterMultiplier, 100)
        self.configuration = configuration
        self.slots = [Slot](repeating: Slot(), count: configuration.capacity)
        self.storage = [UInt8](repeating: 0, count: configuration.capacity * configuration.maximumPayloadSize)
        self.frameTicks = JitterBuffer.ticks(configuration.frameDuration, clockRate: configuration.clockRate)
        self.targetDelay = configuration.initialDelay
    }

    /// Frames buffered and not yet played.
    public var bufferedFrames: Int { buffered }

    /// The current jitter estimate (RFC 3550 A.8 smoothing, on the arrival clock).
    public var jitter: TimeAmount { .nanoseconds(Int64(jitterNanoseconds)) }

    /// The sequence number of the next frame to play, once a packet has arrived.
    public var nextSequenceNumber: UInt16? { started ? nextSequence : nil }

    private static func ticks(_ duration: TimeAmount, clockRate: Int) -> UInt32 {
        UInt32(clamping: duration.nanoseconds * Int64(clockRate) / 1_000_000_000)
    }

    private func duration(ticks: Int64) -> TimeAmount {
        .nanoseconds(ticks * 1_000_000_000 / Int64(configuration.clockRate))
    }

    private func playoutTime(_ timestamp: UInt32) -> NIODeadline {
        anchorTime + duration(ticks: Int64(Int32(bitPattern: timestamp &- anchorTimestamp)))
    }

    private func slotIndex(_ sequence: UInt16) -> Int { Int(sequence) % configuration.capacity }

    /// The target delay from the current jitter estimate.
    private func currentTarget() -> TimeAmount {
        let frame = Double(duration(ticks: Int64(frameTicks)).nanoseconds)
        let wanted = configuration.jitterMultiplier * jitterNanoseconds + frame
        let bounded = min(max(wanted, Double(configuration.minimumDelay.nanoseconds)), Double(configuration.maximumDelay.nanoseconds))
        return .nanoseconds(Int64(bounded))
    }

    /// Offers a packet. The payload is copied; `payload` may be reused when this returns.
    public mutating func insert(
        sequenceNumber sequence: UInt16,
        timestamp: UInt32,
        marker: Bool,
        ssrc: UInt32,
        payload: UnsafeRawBufferPointer,
        arrival: NIODeadline
    ) -> InsertOutcome {
        statistics.received += 1
        guard payload.count <= configuration.maximumPayloadSize else {
            statistics.oversized += 1
            return .oversized
        }
        var outcome = InsertOutcome.accepted
        if !started {
            start(sequence: sequence, timestamp: timestamp, ssrc: ssrc, arrival: arrival)
        } else if ssrc != self.ssrc {
            if ssrc == retiredSSRC {
                statistics.late += 1
                return .late  // a straggler from the stream that was replaced
            }
            retiredSSRC = self.ssrc
            resynchronise(sequence: sequence, timestamp: timestamp, ssrc: ssrc, arrival: arrival)
            outcome = .resynchronised
        } else {
            let distance = Int(Int16(bitPattern: sequence &- nextSequence))
            if distance < 0 {
                let slot = slots[slotIndex(sequence)]
                if slot.sequence == sequence, slot.state == .played || slot.state == .filled {
                    statistics.duplicates += 1
                    return .duplicate
                }
                if -distance > configuration.capacity {
                    // Far behind: a restarted sender, once a second packet follows this one.
                    if let candidate = jumpCandidate, candidate &+ 1 == sequence {
                        resynchronise(sequence: sequence, timestamp: timestamp, ssrc: ssrc, arrival: arrival)
                        outcome = .resynchronised
                    } else {
                        jumpCandidate = sequence
                        statistics.late += 1
                        return .late
                    }
                } else {
                    statistics.late += 1
                    return .late
                }
            } else if distance >= configuration.capacity || isTimestampJump(sequenceDistance: distance, timestamp: timestamp) {
                resynchronise(sequence: sequence, timestamp: timestamp, ssrc: ssrc, arrival: arrival)
                outcome = .resynchronised
            }
        }
        jumpCandidate = nil
        let index = slotIndex(sequence)
        if slots[index].state == .filled {
            if slots[index].sequence == sequence {
                statistics.duplicates += 1
                return .duplicate
            }
            buffered -= 1  // cannot happen inside the window; keeps the count right regardless
        }
        store(at: index, sequence: sequence, timestamp: timestamp, marker: marker, payload: payload, arrival: arrival)
        learnFrameDuration(sequence: sequence, timestamp: timestamp)
        updateJitter(timestamp: timestamp, arrival: arrival, marker: marker)
        return outcome
    }

    private func isTimestampJump(sequenceDistance: Int, timestamp: UInt32) -> Bool {
        let expected = nextTimestamp &+ UInt32(truncatingIfNeeded: sequenceDistance) &* frameTicks
        let deviation = Int64(Int32(bitPattern: timestamp &- expected))
        let limit = Int64(JitterBuffer.ticks(configuration.maximumTimestampJump, clockRate: configuration.clockRate))
        return deviation > limit || deviation < -limit
    }

    private mutating func start(sequence: UInt16, timestamp: UInt32, ssrc: UInt32, arrival: NIODeadline) {
        started = true
        self.ssrc = ssrc
        nextSequence = sequence
        nextTimestamp = timestamp
        anchorTimestamp = timestamp
        anchorTime = arrival + targetDelay
        anchoredSequence = sequence
        lastPlayoutEnd = nil
        hasArrival = false
    }

    private mutating func resynchronise(sequence: UInt16, timestamp: UInt32, ssrc: UInt32, arrival: NIODeadline) {
        statistics.resynchronisations += 1
        statistics.discarded += buffered
        for index in slots.indices {
            slots[index].state = .empty
        }
        buffered = 0
        targetDelay = currentTarget()
        let end = lastPlayoutEnd
        start(sequence: sequence, timestamp: timestamp, ssrc: ssrc, arrival: arrival)
        if let end, anchorTime < end { anchorTime = end }
        lastPlayoutEnd = end
    }

    private mutating func store(at index: Int, sequence: UInt16, timestamp: UInt32, marker: Bool, payload: UnsafeRawBufferPointer, arrival: NIODeadline) {
        let size = configuration.maximumPayloadSize
        storage.withUnsafeMutableBytes { bytes in
            UnsafeMutableRawBufferPointer(rebasing: bytes[(index * size)..<(index * size + size)]).copy(payload, to: 0)
        }
        slots[index] = Slot(state: .filled, sequence: sequence, timestamp: timestamp, marker: marker, length: payload.count, arrival: arrival)
        buffered += 1
    }

    private mutating func learnFrameDuration(sequence: UInt16, timestamp: UInt32) {
        let previous = slots[slotIndex(sequence &- 1)]
        guard previous.sequence == sequence &- 1, previous.state == .filled || previous.state == .played else { return }
        let ticks = timestamp &- previous.timestamp
        let longest = JitterBuffer.ticks(.milliseconds(120), clockRate: configuration.clockRate)
        if ticks > 0, ticks <= longest { frameTicks = ticks }
    }

    private mutating func updateJitter(timestamp: UInt32, arrival: NIODeadline, marker: Bool) {
        defer {
            lastArrival = arrival
            lastArrivalTimestamp = timestamp
            hasArrival = true
        }
        // The gap before a talkspurt is the sender's silence, not network jitter.
        guard hasArrival, !marker else { return }
        let arrivalDelta = Double((arrival - lastArrival).nanoseconds)
        let mediaDelta = Double(duration(ticks: Int64(Int32(bitPattern: timestamp &- lastArrivalTimestamp))).nanoseconds)
        let difference = abs(arrivalDelta - mediaDelta)
        // A difference beyond the maximum delay is a clock or stream jump, not jitter.
        guard difference <= Double(configuration.maximumDelay.nanoseconds) * 4 else { return }
        jitterNanoseconds += (difference - jitterNanoseconds) / 16
    }

    /// The frame due at `now`, copied into `output` (which should hold
    /// ``Configuration/maximumPayloadSize`` bytes; a smaller buffer gets the first `output.count`
    /// bytes, and the frame's ``JitterBufferFrame/payloadLength`` still says the whole length).
    /// Call once per frame interval; each call plays at most one frame.
    public mutating func playout(at now: NIODeadline, into output: UnsafeMutableRawBufferPointer) -> JitterBufferPlayout {
        guard started else { return .empty }
        let index = slotIndex(nextSequence)
        let slot = slots[index]
        if slot.state == .filled, slot.sequence == nextSequence {
            if slot.marker, anchoredSequence != nextSequence {
                // A talkspurt starts: the only place the delay adapts.
                targetDelay = currentTarget()
                var scheduled = slot.arrival + targetDelay
                if let end = lastPlayoutEnd, scheduled < end { scheduled = end }
                anchorTimestamp = slot.timestamp
                anchorTime = scheduled
                anchoredSequence = nextSequence
            }
            let due = playoutTime(slot.timestamp)
            guard due <= now else { return .waiting(until: due) }
            let size = configuration.maximumPayloadSize
            let copied = min(slot.length, output.count)
            storage.withUnsafeBytes { bytes in
                output.copy(UnsafeRawBufferPointer(rebasing: bytes[(index * size)..<(index * size + copied)]), to: 0)
            }
            slots[index].state = .played
            buffered -= 1
            nextSequence &+= 1
            nextTimestamp = slot.timestamp &+ frameTicks
            lastPlayoutEnd = due + duration(ticks: Int64(frameTicks))
            statistics.played += 1
            return .frame(JitterBufferFrame(
                sequenceNumber: slot.sequence,
                timestamp: slot.timestamp,
                marker: slot.marker,
                payloadLength: slot.length,
                playoutTime: due
            ))
        }
        guard buffered > 0 else { return .empty }
        let due = playoutTime(nextTimestamp)
        guard due <= now else { return .waiting(until: due) }
        let gap = JitterBufferGap(
            sequenceNumber: nextSequence,
            timestamp: nextTimestamp,
            nextPacketAvailable: isBuffered(nextSequence &+ 1)
        )
        slots[index] = Slot(state: .missing, sequence: nextSequence, timestamp: nextTimestamp)
        nextSequence &+= 1
        nextTimestamp &+= frameTicks
        lastPlayoutEnd = due + duration(ticks: Int64(frameTicks))
        statistics.missing += 1
        return .missing(gap)
    }

    /// Whether the packet with `sequence` is buffered and not yet played.
    public func isBuffered(_ sequence: UInt16) -> Bool {
        let slot = slots[slotIndex(sequence)]
        return slot.state == .filled && slot.sequence == sequence
    }

    /// Copies the payload of a buffered packet without playing it (for FEC from the packet after
    /// a missing one). Returns its length, or nil when it is not buffered.
    public func copyPayload(sequenceNumber sequence: UInt16, into output: UnsafeMutableRawBufferPointer) -> Int? {
        guard isBuffered(sequence) else { return nil }
        let index = slotIndex(sequence)
        let size = configuration.maximumPayloadSize
        let copied = min(slots[index].length, output.count)
        storage.withUnsafeBytes { bytes in
            output.copy(UnsafeRawBufferPointer(rebasing: bytes[(index * size)..<(index * size + copied)]), to: 0)
        }
        return slots[index].length
    }
}

/// A frame played out of a ``JitterBuffer``.
public struct JitterBufferFrame: Equatable, Hashable, Sendable {
    /// The packet's sequence number.
    public var sequenceNumber: UInt16
    /// The packet's RTP timestamp.
    public var timestamp: UInt32
    /// The packet's marker bit.
    public var marker: Bool
    /// The payload length (may exceed the bytes copied when the output buffer was smaller).
    public var payloadLength: Int
    /// When the frame was scheduled to play.
    public var playoutTime: NIODeadline
}

/// A frame that is missing at its playout time.
public struct JitterBufferGap: Equatable, Hashable, Sendable {
    /// The missing packet's sequence number.
    public var sequenceNumber: UInt16
    /// Its estimated RTP timestamp.
    public var timestamp: UInt32
    /// The packet after it is buffered (so the decoder may recover this one from its FEC).
    public var nextPacketAvailable: Bool
}

/// What a ``JitterBuffer`` has to play at a given time.
public enum JitterBufferPlayout: Equatable, Hashable, Sendable {
    /// The next frame; its payload was copied into the output buffer.
    case frame(JitterBufferFrame)
    /// The next frame is missing and later ones are buffered: conceal one frame.
    case missing(JitterBufferGap)
    /// The next frame (or gap) is due later: buffering, or a silence (DTX) period.
    case waiting(until: NIODeadline)
    /// Nothing is buffered: no packets yet, an underrun, or silence without packets.
    case empty
}
