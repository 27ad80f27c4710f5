public import NIOCore

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// An IP address and UDP port as STUN carries it (the value of XOR-MAPPED-ADDRESS, RFC 8489
/// §14.2, once the XOR is undone). A fixed-size value: building one never allocates.
public struct STUNTransportAddress: Sendable, Hashable, CustomStringConvertible {
    /// The STUN address family.
    public enum Family: UInt8, Sendable, Hashable {
        /// 0x01.
        case ipv4 = 0x01
        /// 0x02.
        case ipv6 = 0x02
    }

    /// IPv4 or IPv6.
    public var family: Family
    /// The UDP port.
    public var port: UInt16
    /// The first 8 address bytes, big-endian (IPv6 only; zero for IPv4).
    public var high: UInt64
    /// The last 8 address bytes, big-endian; an IPv4 address is the low 32 bits.
    public var low: UInt64

    /// An IPv4 address (`address` in host order, 192.0.2.1 is 0xC000_0201).
    public init(ipv4 address: UInt32, port: UInt16) {
        self.family = .ipv4
        self.port = port
        self.high = 0
        self.low = UInt64(address)
    }

    /// An IPv6 address from its two big-endian 64-bit halves.
    public init(ipv6High high: UInt64, low: UInt64, port: UInt16) {
        self.family = .ipv6
        self.port = port
        self.high = high
        self.low = low
    }

    /// The address and port of an IPv4 or IPv6 socket address; nil for a Unix domain socket.
    public init?(_ address: SocketAddress) {
        switch address {
        case .v4(let v4):
            // `sin_addr` and `sin6_addr` hold the address in network order.
            let value = withUnsafeBytes(of: v4.address.sin_addr) { UInt32(bigEndian: $0.loadUnaligned(as: UInt32.self)) }
            self.init(ipv4: value, port: UInt16(bigEndian: v4.address.sin_port))
        case .v6(let v6):
            let (high, low) = withUnsafeBytes(of: v6.address.sin6_addr) { raw in
                (UInt64(bigEndian: raw.loadUnaligned(as: UInt64.self)), UInt64(bigEndian: raw.loadUnaligned(fromByteOffset: 8, as: UInt64.self)))
            }
            self.init(ipv6High: high, low: low, port: UInt16(bigEndian: v6.address.sin6_port))
        case .unixDomainSocket:
            return nil
        }
    }

    /// The IPv4 address in host order, or nil for IPv6.
    public var ipv4: UInt32? { family == .ipv4 ? UInt32(truncatingIfNeeded: low) : nil }

    /// The address bytes in network order: 4 for IPv4, 16 for IPv6.
    public var addressBytes: [UInt8] {
        switch family {
        case .ipv4:
            return (0..<4).map { UInt8(truncatingIfNeeded: low >> (24 - 8 * $0)) }
        case .ipv6:
            return (0..<8).map { UInt8(truncatingIfNeeded: high >> (56 - 8 * $0)) }
                + (0..<8).map { UInt8(truncatingIfNeeded: low >> (56 - 8 * $0)) }
        }
    }

    /// The same address and port as a NIO socket address (allocates).
    public func socketAddress() throws -> SocketAddress {
        try SocketAddress(packedIPAddress: ByteBuffer(bytes: addressBytes), port: Int(port))
    }

    /// `192.0.2.1:3478` or `[2001:db8:0:0:0:0:0:1]:3478` (groups not compressed), for logs.
    public var description: String {
        switch family {
        case .ipv4:
            return addressBytes.map(String.init).joined(separator: ".") + ":\(port)"
        case .ipv6:
            let bytes = addressBytes
            let groups = stride(from: 0, to: 16, by: 2).map { String(UInt16(bytes[$0]) << 8 | UInt16(bytes[$0 + 1]), radix: 16) }
            return "[" + groups.joined(separator: ":") + "]:\(port)"
        }
    }
}

/// The value of an ERROR-CODE attribute (RFC 8489 §14.8): a status code 300–699 and where its
/// reason phrase lies in the message bytes.
public struct STUNErrorCode: Sendable, Hashable {
    /// The status code, class × 100 + number (for example 401).
    public var code: Int
    /// The reason phrase's byte offsets in the message (UTF-8, may be empty).
    public var reasonRange: Range<Int>

    /// An error code and the range of its reason phrase.
    public init(code: Int, reasonRange: Range<Int>) {
        self.code = code
        self.reasonRange = reasonRange
    }

    /// 400 Bad Request.
    public static let badRequest = 400
    /// 401 Unauthorized.
    public static let unauthorized = 401
    /// 420 Unknown Attribute.
    public static let unknownAttribute = 420
    /// 487 Role Conflict (RFC 8445 §7.3.1.1).
    public static let roleConflict = 487
}
