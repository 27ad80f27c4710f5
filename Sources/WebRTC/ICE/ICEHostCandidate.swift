public import NIOCore

/// A host candidate of the gateway (RFC 8445 §5.1.1.1), formatted for the SDP `a=candidate`
/// attribute (RFC 8839 §5.1). The gateway is ICE-lite, so its host candidates are all it offers.
public struct ICEHostCandidate: Sendable, Hashable {
    /// The type preference of host candidates (RFC 8445 §5.1.2.2).
    public static let hostTypePreference: UInt32 = 126

    /// The foundation: 1–32 ice-chars, the same for candidates of the same type and base.
    public var foundation: String
    /// The component: 1 for RTP (RTCP is multiplexed, RFC 5761).
    public var componentID: Int
    /// The IP address as SDP writes it (dotted quad, or RFC 5952 IPv6 text).
    public var ip: String
    /// The UDP port.
    public var port: Int
    /// The local preference, 0–65535 (RFC 8445 §5.1.2.1; RFC 8421 for dual-stack hosts).
    public var localPreference: UInt16

    /// The host candidate for an IPv4 or IPv6 socket address.
    public init(address: SocketAddress, foundation: String = "1", componentID: Int = 1, localPreference: UInt16 = 65535) throws(ICECandidateError) {
        guard let ip = address.ipAddress, let port = address.port else { throw .notAnIPAddress }
        guard (1...32).contains(foundation.utf8.count), foundation.utf8.allSatisfy(ICECredentials.isICEChar) else {
            throw .invalidFoundation
        }
        guard (1...256).contains(componentID) else { throw .invalidComponentID(componentID) }
        self.foundation = foundation
        self.componentID = componentID
        self.ip = ip
        self.port = port
        self.localPreference = localPreference
    }

    /// The candidate priority of RFC 8445 §5.1.2.1:
    /// 2^24 × type preference + 2^8 × local preference + (256 − component id).
    public static func priority(typePreference: UInt32, localPreference: UInt16, componentID: Int) -> UInt32 {
        min(typePreference, 126) << 24 + UInt32(localPreference) << 8 + UInt32(256 - min(max(componentID, 1), 256))
    }

    /// This candidate's priority.
    public var priority: UInt32 {
        Self.priority(typePreference: Self.hostTypePreference, localPreference: localPreference, componentID: componentID)
    }

    /// The value of `a=candidate:`: `<foundation> <component> udp <priority> <ip> <port> typ host`.
    public var sdpValue: String {
        "\(foundation) \(componentID) udp \(priority) \(ip) \(port) typ host"
    }
}

/// Why a host candidate could not be formed.
public enum ICECandidateError: Error, Sendable, Hashable {
    /// The socket address is a Unix domain socket.
    case notAnIPAddress
    /// The foundation is not 1–32 ice-chars.
    case invalidFoundation
    /// The component id is outside 1–256.
    case invalidComponentID(Int)
}
