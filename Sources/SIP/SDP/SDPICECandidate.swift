/// `a=candidate` (RFC 8839 §5.1):
///
///     candidate-attribute = "candidate" ":" foundation SP component-id SP transport SP priority
///                           SP connection-address SP port SP cand-type
///                           [SP rel-addr] [SP rel-port] *(SP cand-extension)
///
/// The connection address may be an IP address or a hostname (browsers hide host addresses
/// behind mDNS names such as `f0e1….local`).
public struct SDPICECandidate: SDPAttributeValue, Hashable {
    public static let attributeName = "candidate"

    /// An extension name/value pair after the mandatory fields, such as `generation 0`,
    /// `network-cost 10` or `tcptype passive`.
    public struct Extension: Hashable, Sendable {
        public var name: String
        public var value: String

        public init(name: String, value: String) {
            self.name = name
            self.value = value
        }
    }

    /// 1 to 32 ICE characters.
    public var foundation: String
    /// 1 (RTP) or 2 (RTCP) in practice; 1...256 allowed.
    public var component: UInt16
    /// `UDP` or `TCP` (any case), or an extension token.
    public var transport: String
    public var priority: UInt32
    public var address: String
    public var port: UInt16
    public var type: SDPICECandidateType
    public var relatedAddress: String?
    public var relatedPort: UInt16?
    public var extensions: [Extension]

    public init(
        foundation: String,
        component: UInt16,
        transport: String,
        priority: UInt32,
        address: String,
        port: UInt16,
        type: SDPICECandidateType,
        relatedAddress: String? = nil,
        relatedPort: UInt16? = nil,
        extensions: [Extension] = []
    ) {
        self.foundation = foundation
        self.component = component
        self.transport = transport
        self.priority = priority
        self.address = address
        self.port = port
        self.type = type
        self.relatedAddress = relatedAddress
        self.relatedPort = relatedPort
        self.extensions = extensions
    }

    /// The value of an extension, such as `tcptype`.
    public func extensionValue(_ name: String) -> String? {
        extensions.first { $0.name == name }?.value
    }

    public init(attributeValue: Substring) throws(SDPParseError) {
        let fields = SDPGrammar.fields(attributeValue)
        guard fields.count >= 8,
            SDPGrammar.isICEString(fields[0], maximumLength: 32),
            fields[1].utf8.count <= 3,
            let component = SDPGrammar.decimal(fields[1], as: UInt16.self), (1...256).contains(component),
            SDPGrammar.isToken(fields[2]),
            fields[3].utf8.count <= 10,
            let priority = SDPGrammar.decimal(fields[3], as: UInt32.self),
            SDPGrammar.isVisibleString(fields[4]),
            let port = SDPGrammar.decimal(fields[5], as: UInt16.self),
            fields[6] == "typ",
            SDPGrammar.isToken(fields[7])
        else {
            throw .invalidAttribute(Self.attributeName)
        }
        self.foundation = String(fields[0])
        self.component = component
        self.transport = String(fields[2])
        self.priority = priority
        self.address = String(fields[4])
        self.port = port
        self.type = SDPICECandidateType(rawValue: String(fields[7]))
        self.relatedAddress = nil
        self.relatedPort = nil
        self.extensions = []

        var index = 8
        if index + 1 < fields.count, fields[index] == "raddr" {
            guard SDPGrammar.isVisibleString(fields[index + 1]) else { throw .invalidAttribute(Self.attributeName) }
            relatedAddress = String(fields[index + 1])
            index += 2
        }
        if index + 1 < fields.count, fields[index] == "rport" {
            guard let relatedPort = SDPGrammar.decimal(fields[index + 1], as: UInt16.self) else {
                throw .invalidAttribute(Self.attributeName)
            }
            self.relatedPort = relatedPort
            index += 2
        }
        // Extensions come in name/value pairs; an odd one out breaks the grammar.
        guard (fields.count - index) % 2 == 0 else { throw .invalidAttribute(Self.attributeName) }
        while index < fields.count {
            guard SDPGrammar.isToken(fields[index]) else { throw .invalidAttribute(Self.attributeName) }
            extensions.append(Extension(name: String(fields[index]), value: String(fields[index + 1])))
            index += 2
        }
    }

    public var attributeValue: String {
        var result = "\(foundation) \(component) \(transport) \(priority) \(address) \(port) typ \(type.rawValue)"
        if let relatedAddress {
            result += " raddr \(relatedAddress)"
        }
        if let relatedPort {
            result += " rport \(relatedPort)"
        }
        for item in extensions {
            result += " \(item.name) \(item.value)"
        }
        return result
    }
}

/// The `typ` of an ICE candidate: `host`, `srflx`, `prflx`, `relay`, or an extension token.
public struct SDPICECandidateType: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public var rawValue: String

    public init(rawValue: String) {
        self.rawValue = rawValue
    }

    public static let host = SDPICECandidateType(rawValue: "host")
    public static let serverReflexive = SDPICECandidateType(rawValue: "srflx")
    public static let peerReflexive = SDPICECandidateType(rawValue: "prflx")
    public static let relayed = SDPICECandidateType(rawValue: "relay")

    public var description: String { rawValue }
}
