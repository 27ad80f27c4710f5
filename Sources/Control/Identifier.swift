import Crypto
import Synchronization

/// Time-ordered identifiers (`wid_01J…`): 48 bits of milliseconds then 80 random bits, in
/// Crockford base32, monotonic within the process so that ordering by id is creation order.
public enum Identifier {
    public static let bodyLength = 26
    static let alphabet = Array("0123456789ABCDEFGHJKMNPQRSTVWXYZ".utf8)

    private static let last = Mutex<(millis: UInt64, random: (UInt64, UInt16))>((0, (0, 0)))

    /// A new identifier with the given prefix (`"wid"` gives `wid_…`).
    public static func make(_ prefix: String, millis: UInt64) -> String {
        let (ms, high, low) = last.withLock { state -> (UInt64, UInt64, UInt16) in
            if millis <= state.millis {
                // Same (or earlier) millisecond: increment the random part to stay ordered.
                var (high, low) = state.random
                if low == .max { low = 0; high &+= 1 } else { low += 1 }
                state.random = (high, low)
                return (state.millis, high, low)
            }
            var generator = SystemRandomNumberGenerator()
            let random = (generator.next() as UInt64, generator.next() as UInt16)
            state = (millis, random)
            return (millis, random.0, random.1)
        }
        // 128 bits: 48 of time, 64 + 16 of randomness.
        var bytes = [UInt8](repeating: 0, count: 16)
        for i in 0..<6 { bytes[i] = UInt8(truncatingIfNeeded: ms >> (8 * (5 - i))) }
        for i in 0..<8 { bytes[6 + i] = UInt8(truncatingIfNeeded: high >> (8 * (7 - i))) }
        bytes[14] = UInt8(truncatingIfNeeded: low >> 8)
        bytes[15] = UInt8(truncatingIfNeeded: low)
        return prefix + "_" + base32(bytes)
    }

    /// Whether `text` has the shape of an identifier with that prefix.
    public static func isValid(_ text: some StringProtocol, prefix: String) -> Bool {
        let utf8 = Array(text.utf8)
        let head = Array(prefix.utf8) + [UInt8(ascii: "_")]
        guard utf8.count == head.count + bodyLength, utf8.starts(with: head) else { return false }
        return utf8[head.count...].allSatisfy { alphabet.contains($0) }
    }

    static func base32(_ bytes: [UInt8]) -> String {
        // 128 bits → 26 characters, most significant first (the top 2 bits are padding).
        var out = [UInt8](repeating: 0, count: bodyLength)
        var value = (hi: UInt64(0), lo: UInt64(0))
        for i in 0..<8 { value.hi = value.hi << 8 | UInt64(bytes[i]) }
        for i in 8..<16 { value.lo = value.lo << 8 | UInt64(bytes[i]) }
        for index in stride(from: bodyLength - 1, through: 0, by: -1) {
            out[index] = alphabet[Int(value.lo & 31)]
            value.lo = value.lo >> 5 | (value.hi & 31) << 59
            value.hi >>= 5
        }
        return String(decoding: out, as: UTF8.self)
    }
}

/// A bearer secret (API key or widget session token): 256 random bits, base64url, with a prefix.
/// Only its SHA-256 digest is ever stored.
public struct Secret: Sendable, Hashable {
    public let text: String

    public init(text: String) { self.text = text }

    /// A fresh secret: `prefix_` followed by 43 base64url characters.
    public static func generate(prefix: String) -> Secret {
        var generator = SystemRandomNumberGenerator()
        var bytes = [UInt8](repeating: 0, count: 32)
        for i in bytes.indices { bytes[i] = UInt8.random(in: .min ... .max, using: &generator) }
        return Secret(text: prefix + "_" + base64URL(bytes))
    }

    /// Hex SHA-256 of the secret: what the store keeps and looks keys up by.
    public var digest: String {
        SHA256.hash(data: Array(text.utf8)).map { hexDigits[Int($0 >> 4)] + hexDigits[Int($0 & 15)] }.joined()
    }

    private static let base64URLAlphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".utf8)

    /// Unpadded base64url (RFC 4648 §5).
    static func base64URL(_ bytes: [UInt8]) -> String {
        var out: [UInt8] = []
        out.reserveCapacity((bytes.count * 4 + 2) / 3)
        var index = 0
        while index < bytes.count {
            let chunk = bytes[index..<min(index + 3, bytes.count)]
            var value = UInt32(0)
            for (offset, byte) in chunk.enumerated() { value |= UInt32(byte) << (16 - 8 * UInt32(offset)) }
            for position in 0...chunk.count {
                out.append(base64URLAlphabet[Int((value >> (18 - 6 * UInt32(position))) & 63)])
            }
            index += 3
        }
        return String(decoding: out, as: UTF8.self)
    }
}

private let hexDigits = (0..<16).map { String($0, radix: 16) }
