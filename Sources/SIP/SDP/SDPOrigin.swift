/// The `o=` line: who created the session description and which revision it is (RFC 8866 §5.2).
public struct SDPOrigin: Hashable, Sendable {
    /// The user's login on the originating host, or `-`.
    public var username: String
    /// A numeric string that, with the other fields, makes the session globally unique.
    /// Kept as text because generators use up to 20 digits.
    public var sessionID: String
    /// Incremented by the originator whenever it sends a modified description (RFC 3264 §8).
    public var sessionVersion: UInt64
    public var networkType: String
    public var addressType: SDPAddressType
    public var unicastAddress: String

    public init(
        username: String = "-",
        sessionID: String,
        sessionVersion: UInt64,
        networkType: String = "IN",
        addressType: SDPAddressType = .ip4,
        unicastAddress: String
    ) {
        self.username = username
        self.sessionID = sessionID
        self.sessionVersion = sessionVersion
        self.networkType = networkType
        self.addressType = addressType
        self.unicastAddress = unicastAddress
    }

    init(parsing value: Substring) throws(SDPParseError) {
        let fields = SDPGrammar.fields(value)
        guard fields.count == 6,
            SDPGrammar.isVisibleString(fields[0]),
            SDPGrammar.isVisibleString(fields[1]),
            let version = SDPGrammar.decimal(fields[2], as: UInt64.self),
            SDPGrammar.isToken(fields[3]),
            SDPGrammar.isToken(fields[4]),
            SDPGrammar.isVisibleString(fields[5])
        else {
            throw SDPParseError(.invalidOrigin)
        }
        self.username = String(fields[0])
        self.sessionID = String(fields[1])
        self.sessionVersion = version
        self.networkType = String(fields[3])
        self.addressType = SDPAddressType(rawValue: String(fields[4]))
        self.unicastAddress = String(fields[5])
    }

    var fieldValue: String {
        "\(username) \(sessionID) \(sessionVersion) \(networkType) \(addressType.rawValue) \(unicastAddress)"
    }
}

/// The address type of `o=` and `c=` lines: `IP4`, `IP6`, or an extension token.
public struct SDPAddressType: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public var rawValue: String

    public init(rawValue: String) {
        self.rawValue = rawValue
    }

    public static let ip4 = SDPAddressType(rawValue: "IP4")
    public static let ip6 = SDPAddressType(rawValue: "IP6")

    public var description: String { rawValue }
}
