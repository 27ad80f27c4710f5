/// Why a payload is not a telephone-event (RFC 4733 §2.3).
public enum TelephoneEventParseError: Error, Equatable, Hashable, Sendable {
    /// Fewer than 4 bytes.
    case truncated
}

/// A telephone-event payload (RFC 4733 §2.3): a DTMF digit or other named event.
public struct TelephoneEvent: Equatable, Hashable, Sendable {
    /// The payload length.
    public static let length = 4

    /// The event code (0–9, `*` 10, `#` 11, A–D 12–15, RFC 4733 §3.2).
    public var event: UInt8
    /// The E bit: this packet ends the event.
    public var isEnd: Bool
    /// The power level, 0 to 63 (in −dBm0).
    public var volume: UInt8
    /// The duration so far, in timestamp units of the stream's clock rate.
    public var duration: UInt16

    /// An event payload.
    @inlinable
    public init(event: UInt8, isEnd: Bool, volume: UInt8, duration: UInt16) {
        self.event = event
        self.isEnd = isEnd
        self.volume = volume & 0x3F
        self.duration = duration
    }

    /// Parses the first event of `payload` (the R bit is ignored, as RFC 4733 requires).
    @inlinable
    public init(parsing payload: UnsafeRawBufferPointer) throws(TelephoneEventParseError) {
        guard payload.count >= TelephoneEvent.length else { throw .truncated }
        self.event = payload[0]
        self.isEnd = payload[1] & 0x80 != 0
        self.volume = payload[1] & 0x3F
        self.duration = payload.readUInt16(at: 2)
    }

    /// Writes the 4-byte payload at the start of `buffer`; returns 4, or nil when it is smaller.
    @inlinable
    public func write(into buffer: UnsafeMutableRawBufferPointer) -> Int? {
        guard buffer.count >= TelephoneEvent.length else { return nil }
        buffer[0] = event
        buffer[1] = (isEnd ? 0x80 : 0) | (volume & 0x3F)
        buffer.writeUInt16(duration, at: 2)
        return TelephoneEvent.length
    }
}

/// Relays a telephone-event stream between clock rates (48000 on the WebRTC leg, 8000 on the SIP
/// leg): each event's timestamp maps onto the output stream's timeline and the duration is
/// scaled. Every packet converts to one packet, so the three end-packet retransmissions
/// (RFC 4733 §2.5.1.4) stay three. The packets of one event share a timestamp (RFC 4733 §2.5.1.2),
/// and the mapped timestamp is kept for the event even if the anchor moves meanwhile.
public struct TelephoneEventRateConverter: Equatable, Sendable {
    /// A converted packet: what to send on the output stream (its sequence number is the
    /// output stream's next one).
    public struct Output: Equatable, Hashable, Sendable {
        /// The RTP timestamp on the output timeline.
        public var timestamp: UInt32
        /// The marker bit (first packet of an event).
        public var marker: Bool
        /// The event with its duration at the output clock rate.
        public var event: TelephoneEvent
    }

    /// The input stream's clock rate.
    public let inputClockRate: Int
    /// The output stream's clock rate.
    public let outputClockRate: Int
    private var anchorInput: UInt32
    private var anchorOutput: UInt32
    private var currentInput: UInt32?
    private var currentOutput: UInt32 = 0

    /// A converter whose input timestamp `input` corresponds to output timestamp `output` (the
    /// media session's mapping between the two audio streams).
    public init(inputClockRate: Int, outputClockRate: Int, anchor input: UInt32, output: UInt32) {
        self.inputClockRate = min(max(inputClockRate, 1), 10_000_000)
        self.outputClockRate = min(max(outputClockRate, 1), 10_000_000)
        self.anchorInput = input
        self.anchorOutput = output
    }

    /// Moves the timeline mapping (when the audio streams' mapping changes); applies from the
    /// next event.
    public mutating func setAnchor(input: UInt32, output: UInt32) {
        anchorInput = input
        anchorOutput = output
    }

    /// `input` timestamp units in output units, rounded to nearest.
    private func scale(_ ticks: Int64) -> Int64 {
        let product = ticks * Int64(outputClockRate)
        let half = Int64(inputClockRate) / 2
        return (product >= 0 ? product + half : product - half) / Int64(inputClockRate)
    }

    /// Converts one received telephone-event packet.
    public mutating func convert(timestamp: UInt32, marker: Bool, event: TelephoneEvent) -> Output {
        if currentInput != timestamp {
            let offset = Int64(Int32(bitPattern: timestamp &- anchorInput))
            currentOutput = anchorOutput &+ UInt32(truncatingIfNeeded: scale(offset))
            currentInput = timestamp
        }
        var converted = event
        converted.duration = UInt16(clamping: scale(Int64(event.duration)))
        return Output(timestamp: currentOutput, marker: marker, event: converted)
    }
}
