/// Which of `count` signalling cores owns a dialog: a stable hash of its Call-ID.
///
/// Every message of a dialog carries the same Call-ID, so a datagram can be routed to its core
/// before anything else is looked at. A core that starts an outbound leg makes a Call-ID that
/// routes to itself (``makeCallID(host:shard:)``), so both legs of a bridged call live on the same
/// core. The hash is FNV-1a (64-bit) over the Call-ID's UTF-8 bytes: the same in every process
/// and run, unlike `Hasher`, so a core can be chosen from the bytes alone.
public struct SIPShard: Sendable, Hashable {
    /// This core's index, `0..<count`.
    public let index: Int
    /// How many cores share the SIP port.
    public let count: Int

    /// The only core of a gateway that does not shard.
    public static let single = SIPShard(index: 0, count: 1)

    public init(index: Int, count: Int) {
        precondition(count >= 1 && (0..<count).contains(index), "shard \(index) of \(count)")
        self.index = index
        self.count = count
    }

    /// The core, of `count`, that owns the dialog with `callID`.
    @inlinable
    public static func owner(ofCallID callID: String, count: Int) -> Int {
        guard count > 1 else { return 0 }
        return Int(hash(callID) % UInt64(count))
    }

    /// FNV-1a, 64-bit, of the UTF-8 bytes.
    @inlinable
    public static func hash(_ callID: String) -> UInt64 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        var callID = callID
        callID.withUTF8 { bytes in
            for byte in bytes {
                hash ^= UInt64(byte)
                hash &*= 0x0000_0100_0000_01b3
            }
        }
        return hash
    }

    /// Whether this core owns the dialog with `callID`.
    @inlinable
    public func owns(callID: String) -> Bool {
        Self.owner(ofCallID: callID, count: count) == index
    }

    /// A new random Call-ID (`random@host`) that routes to this core: drawn again until it
    /// does, `count` draws on average.
    public func makeCallID(host: String) -> String {
        var generator = SIPRandom()
        while true {
            let callID = String(generator.next() as UInt64, radix: 36) + String(generator.next() as UInt64, radix: 36) + "@" + host
            if owns(callID: callID) { return callID }
        }
    }
}
