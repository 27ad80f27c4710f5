/// The 96-bit transaction id of a STUN message, which matches a response to its request.
public struct STUNTransactionID: Sendable, Hashable, CustomStringConvertible {
    /// The first 4 bytes, big-endian.
    public var high: UInt32
    /// The last 8 bytes, big-endian.
    public var low: UInt64

    /// A transaction id from its two big-endian halves.
    public init(high: UInt32, low: UInt64) {
        self.high = high
        self.low = low
    }

    /// A transaction id from 12 bytes; nil when there are not exactly 12.
    public init?(bytes: some Collection<UInt8>) {
        guard bytes.count == 12 else { return nil }
        var high: UInt32 = 0
        var low: UInt64 = 0
        for (index, byte) in bytes.enumerated() {
            if index < 4 { high = high << 8 | UInt32(byte) } else { low = low << 8 | UInt64(byte) }
        }
        self.init(high: high, low: low)
    }

    /// A random transaction id (RFC 8489 §6: uniformly and randomly chosen).
    public static func random() -> STUNTransactionID {
        var generator = SystemRandomNumberGenerator()
        return random(using: &generator)
    }

    /// A random transaction id from `generator`.
    public static func random(using generator: inout some RandomNumberGenerator) -> STUNTransactionID {
        STUNTransactionID(high: generator.next(), low: generator.next())
    }

    /// The 12 bytes, in wire order.
    public var bytes: [UInt8] {
        (0..<4).map { UInt8(truncatingIfNeeded: high >> (24 - 8 * $0)) }
            + (0..<8).map { UInt8(truncatingIfNeeded: low >> (56 - 8 * $0)) }
    }

    /// The 24 hex digits, for logs.
    public var description: String {
        bytes.map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined()
    }
}
