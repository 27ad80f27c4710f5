/// A `c=` line: where media is sent to (RFC 8866 §5.7).
public struct SDPConnection: Hashable, Sendable {
    public var networkType: String
    public var addressType: SDPAddressType
    /// The unicast or multicast address, or a fully qualified domain name, without the
    /// multicast `/ttl` and `/count` suffixes.
    public var address: String
    /// The IPv4 multicast time-to-live (`224.2.1.1/127`).
    public var ttl: UInt8?
    /// The number of consecutive multicast addresses (`224.2.1.1/127/3`, `FF15::101/3`).
    public var addressCount: UInt32?

    public init(
        networkType: String = "IN",
        addressType: SDPAddressType = .ip4,
        address: String,
        ttl: UInt8? = nil,
        addressCount: UInt32? = nil
    ) {
        self.networkType = networkType
        self.addressType = addressType
        self.address = address
        self.ttl = ttl
        self.addressCount = addressCount
    }

    /// `IN IP4 <address>`.
    public static func ip4(_ address: String) -> SDPConnection {
        SDPConnection(addressType: .ip4, address: address)
    }

    /// `IN IP6 <address>`.
    public static func ip6(_ address: String) -> SDPConnection {
        SDPConnection(addressType: .ip6, address: address)
    }

    /// Whether this is the unspecified address: `0.0.0.0` was the RFC 2543 way of putting a
    /// stream on hold (RFC 3264 §8.4), and is also the placeholder ICE agents write next to
    /// port 9. Which one it means depends on whether the media uses ICE.
    public var isUnspecifiedAddress: Bool {
        address == "0.0.0.0" || address == "::"
    }

    init(parsing value: Substring) throws(SDPParseError) {
        let fields = SDPGrammar.fields(value)
        guard fields.count == 3,
            SDPGrammar.isToken(fields[0]),
            SDPGrammar.isToken(fields[1]),
            SDPGrammar.isVisibleString(fields[2])
        else {
            throw SDPParseError(.invalidConnection)
        }
        self.networkType = String(fields[0])
        self.addressType = SDPAddressType(rawValue: String(fields[1]))
        let parts = fields[2].split(separator: "/", omittingEmptySubsequences: false)
        guard !parts[0].isEmpty, parts.count <= 3 else { throw SDPParseError(.invalidConnection) }
        self.address = String(parts[0])
        self.ttl = nil
        self.addressCount = nil
        // IPv4 multicast is address/ttl[/count]; IPv6 has no TTL, so address/count.
        if addressType == .ip6 {
            guard parts.count <= 2 else { throw SDPParseError(.invalidConnection) }
            if parts.count == 2 {
                guard let count = SDPGrammar.decimal(parts[1], as: UInt32.self) else {
                    throw SDPParseError(.invalidConnection)
                }
                addressCount = count
            }
        } else if parts.count >= 2 {
            guard let ttl = SDPGrammar.decimal(parts[1], as: UInt8.self) else {
                throw SDPParseError(.invalidConnection)
            }
            self.ttl = ttl
            if parts.count == 3 {
                guard let count = SDPGrammar.decimal(parts[2], as: UInt32.self) else {
                    throw SDPParseError(.invalidConnection)
                }
                addressCount = count
            }
        }
    }

    var fieldValue: String {
        var result = "\(networkType) \(addressType.rawValue) \(address)"
        if let ttl {
            result += "/\(ttl)"
        }
        if let addressCount {
            result += "/\(addressCount)"
        }
        return result
    }
}
