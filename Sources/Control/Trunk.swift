public import Foundation

/// A SIP trunk to (and optionally from) a call centre: where calls go, how to authenticate, and
/// which source addresses may send calls in.
public struct Trunk: Sendable, Equatable, Codable {
    public var id: String
    public var name: String
    public var uri: String
    public var transport: Transport
    public var username: String?
    /// The digest password, sealed with the installation's secret key (never stored in clear).
    public var sealedPassword: String?
    public var codecs: [String]
    public var maxConcurrentCalls: Int?
    public var inbound: Inbound?
    /// How the call centre's certificate is checked when calls go to it over TLS.
    public var tls: TLS?
    /// Whether the media towards the call centre must be SRTP (SDES keys, RFC 4568).
    public var srtp: SRTP
    public var createdAt: Date
    public var updatedAt: Date

    public static let idPrefix = "trk"
    public static let knownCodecs: Set<String> = ["PCMU", "PCMA", "G722", "opus"]

    public enum Transport: String, Sendable, Codable, CaseIterable {
        case udp, tcp, tls
    }

    /// Media encryption on the call centre's leg.
    public enum SRTP: String, Sendable, Codable, CaseIterable {
        /// Plain RTP/AVP (the default).
        case off
        /// RTP/SAVP with SDES `a=crypto` keys: a call centre that answers without acceptable
        /// crypto fails the call; nothing is sent in clear.
        case required
    }

    /// TLS client settings (transport `tls`, or a `sips:` URI). Without them the call centre's
    /// certificate must verify against the system trust store and carry the URI's host.
    public struct TLS: Sendable, Equatable, Codable {
        /// PEM CA certificates trusted for this trunk instead of the system trust store.
        public var caCertificates: String?
        /// False accepts any certificate: for a lab, never for production.
        public var verifyCertificate: Bool
        /// The name the certificate must carry (and the SNI), for a URI with an IP address.
        public var serverName: String?

        public init(caCertificates: String? = nil, verifyCertificate: Bool = true, serverName: String? = nil) {
            self.caCertificates = caCertificates
            self.verifyCertificate = verifyCertificate
            self.serverName = serverName
        }
    }

    public struct Inbound: Sendable, Equatable, Codable {
        public var allowedSources: [String]
        public var destination: String

        public init(allowedSources: [String], destination: String) {
            self.allowedSources = allowedSources
            self.destination = destination
        }

        /// Whether a request from `address` is one of this trunk's.
        public func admits(_ address: String) -> Bool {
            allowedSources.contains { IPNetwork($0)?.contains(address) ?? false }
        }
    }

    public init(
        id: String, name: String, uri: String, transport: Transport, username: String?, sealedPassword: String?,
        codecs: [String], maxConcurrentCalls: Int?, inbound: Inbound?, tls: TLS? = nil, srtp: SRTP = .off, createdAt: Date, updatedAt: Date
    ) {
        self.id = id
        self.name = name
        self.uri = uri
        self.transport = transport
        self.username = username
        self.sealedPassword = sealedPassword
        self.codecs = codecs
        self.maxConcurrentCalls = maxConcurrentCalls
        self.inbound = inbound
        self.tls = tls
        self.srtp = srtp
        self.createdAt = createdAt
        self.updatedAt = updatedAt
    }
}

/// An IPv4 or IPv6 network (`10.0.0.0/8`, `2001:db8::/32`, or one address).
public struct IPNetwork: Sendable, Equatable {
    let address: [UInt8]
    let prefix: Int

    public init?(_ text: String) {
        let parts = text.split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false)
        guard let address = IPNetwork.bytes(of: String(parts[0])) else { return nil }
        let bits = address.count * 8
        if parts.count == 2 {
            guard let prefix = Int(parts[1]), (0...bits).contains(prefix), parts[1].allSatisfy(\.isNumber) else { return nil }
            self.prefix = prefix
        } else {
            self.prefix = bits
        }
        self.address = address
    }

    public func contains(_ text: String) -> Bool {
        guard var candidate = IPNetwork.bytes(of: text) else { return false }
        // An IPv4-mapped IPv6 address (::ffff:a.b.c.d) is the IPv4 address.
        if candidate.count == 16, address.count == 4, candidate.prefix(12) == [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF] {
            candidate = Array(candidate.suffix(4))
        }
        guard candidate.count == address.count else { return false }
        var remaining = prefix
        for index in address.indices where remaining > 0 {
            let take = min(8, remaining)
            let mask: UInt8 = take == 8 ? 0xFF : ~(0xFF >> UInt8(take))
            if candidate[index] & mask != address[index] & mask { return false }
            remaining -= take
        }
        return true
    }

    static func bytes(of text: String) -> [UInt8]? {
        var text = text
        if text.hasPrefix("[") && text.hasSuffix("]") { text = String(text.dropFirst().dropLast()) }
        var v4 = in_addr()
        if inet_pton(AF_INET, text, &v4) == 1 {
            return withUnsafeBytes(of: v4) { Array($0) }
        }
        var v6 = in6_addr()
        if inet_pton(AF_INET6, text, &v6) == 1 {
            return withUnsafeBytes(of: v6) { Array($0) }
        }
        return nil
    }
}
