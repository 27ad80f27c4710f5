/// One `a=` line: a name and, for value attributes, the text after the first colon.
///
/// Attributes are kept verbatim and in order, so unknown ones (`rid`, `simulcast`,
/// `msid-semantic`, vendor extensions) pass through a B2BUA untouched. Typed views of the
/// well-known ones are on ``SDPAttributeList``.
public struct SDPAttribute: Hashable, Sendable, CustomStringConvertible {
    public var name: String
    /// nil for property attributes (`a=rtcp-mux`); possibly empty for `a=name:`.
    public var value: String?

    public init(name: String, value: String? = nil) {
        self.name = name
        self.value = value
    }

    /// An attribute holding a typed value, such as an ``SDPRTPMap`` or ``SDPICECandidate``.
    public init(_ typedValue: some SDPAttributeValue) {
        self.name = type(of: typedValue).attributeName
        self.value = typedValue.attributeValue
    }

    /// The text after `a=`.
    public var description: String {
        if let value {
            return "\(name):\(value)"
        }
        return name
    }
}

/// A typed attribute value that parses from, and serializes to, the text after `a=<name>:`.
public protocol SDPAttributeValue: Sendable {
    /// The attribute name, without `a=` or colon.
    static var attributeName: String { get }
    /// Parses the attribute value (the text after the colon).
    init(attributeValue: Substring) throws(SDPParseError)
    /// The attribute value as it is written after the colon.
    var attributeValue: String { get }
}

/// The ordered `a=` lines of a session or media description, with typed accessors.
///
/// Accessors that return typed values skip entries that do not parse; the session description
/// parser has already rejected malformed values of every attribute with a typed accessor, so
/// this only matters for attributes added programmatically.
public struct SDPAttributeList: Hashable, Sendable {
    public var elements: [SDPAttribute]

    public init(_ elements: [SDPAttribute] = []) {
        self.elements = elements
    }
}

extension SDPAttributeList: RandomAccessCollection, MutableCollection, RangeReplaceableCollection,
    ExpressibleByArrayLiteral
{
    public init() {
        self.elements = []
    }

    public init(arrayLiteral elements: SDPAttribute...) {
        self.elements = elements
    }

    public var startIndex: Int { elements.startIndex }
    public var endIndex: Int { elements.endIndex }

    public subscript(position: Int) -> SDPAttribute {
        get { elements[position] }
        set { elements[position] = newValue }
    }

    public mutating func replaceSubrange(_ subrange: Range<Int>, with newElements: some Collection<SDPAttribute>) {
        elements.replaceSubrange(subrange, with: newElements)
    }
}

// MARK: - Generic access

extension SDPAttributeList {
    /// Whether an attribute with this name is present.
    public func contains(_ name: String) -> Bool {
        elements.contains { $0.name == name }
    }

    /// The value of the first attribute with this name (nil if absent or if it has no value).
    public func firstValue(_ name: String) -> String? {
        elements.first { $0.name == name }?.value
    }

    /// The values of all attributes with this name, in order.
    public func values(_ name: String) -> [String] {
        elements.compactMap { $0.name == name ? $0.value : nil }
    }

    /// All values of a typed attribute, in order.
    public func values<Value: SDPAttributeValue>(of type: Value.Type) -> [Value] {
        elements.compactMap { attribute in
            guard attribute.name == Value.attributeName, let value = attribute.value else { return nil }
            return try? Value(attributeValue: value[...])
        }
    }

    /// The first value of a typed attribute.
    public func first<Value: SDPAttributeValue>(of type: Value.Type) -> Value? {
        for attribute in elements where attribute.name == Value.attributeName {
            if let value = attribute.value, let parsed = try? Value(attributeValue: value[...]) {
                return parsed
            }
        }
        return nil
    }

    public mutating func append(name: String, value: String? = nil) {
        elements.append(SDPAttribute(name: name, value: value))
    }

    public mutating func append(_ typedValue: some SDPAttributeValue) {
        elements.append(SDPAttribute(typedValue))
    }

    public mutating func removeAll(named name: String) {
        elements.removeAll { $0.name == name }
    }
}

// MARK: - Typed accessors

extension SDPAttributeList {
    /// `a=rtpmap` entries.
    public var rtpMaps: [SDPRTPMap] { values(of: SDPRTPMap.self) }

    /// The `a=rtpmap` for a payload type.
    public func rtpMap(for payloadType: UInt8) -> SDPRTPMap? {
        rtpMaps.first { $0.payloadType == payloadType }
    }

    /// `a=fmtp` entries.
    public var formatParameters: [SDPFormatParameters] { values(of: SDPFormatParameters.self) }

    /// The `a=fmtp` for a format (a payload type for RTP).
    public func formatParameters(for format: String) -> SDPFormatParameters? {
        formatParameters.first { $0.format == format }
    }

    /// `a=rtcp-fb` entries.
    public var rtcpFeedback: [SDPRTCPFeedback] { values(of: SDPRTCPFeedback.self) }

    /// `a=rtcp-fb` entries that apply to a payload type (its own and the `*` wildcard ones).
    public func rtcpFeedback(for payloadType: UInt8) -> [SDPRTCPFeedback] {
        rtcpFeedback.filter { $0.payloadType == .all || $0.payloadType == .payloadType(payloadType) }
    }

    /// `a=rtcp` (RFC 3605).
    public var rtcp: SDPRTCPAddress? { first(of: SDPRTCPAddress.self) }

    /// `a=rtcp-mux` (RFC 5761).
    public var isRTCPMultiplexed: Bool { contains("rtcp-mux") }

    /// `a=rtcp-rsize` (RFC 5506).
    public var isReducedSizeRTCP: Bool { contains("rtcp-rsize") }

    /// The direction attribute (`sendrecv`, `sendonly`, `recvonly`, `inactive`) if present.
    public var direction: SDPDirection? {
        for attribute in elements {
            if let direction = SDPDirection(rawValue: attribute.name) {
                return direction
            }
        }
        return nil
    }

    /// Replaces any direction attribute with `direction` (in place of the first one, if any),
    /// or removes them all when nil.
    public mutating func setDirection(_ direction: SDPDirection?) {
        let position = elements.firstIndex { SDPDirection(rawValue: $0.name) != nil }
        elements.removeAll { SDPDirection(rawValue: $0.name) != nil }
        guard let direction else { return }
        let attribute = SDPAttribute(name: direction.rawValue)
        if let position {
            elements.insert(attribute, at: Swift.min(position, elements.count))
        } else {
            elements.append(attribute)
        }
    }

    /// `a=mid` (RFC 5888).
    public var mid: String? { firstValue("mid") }

    /// `a=group` entries (RFC 5888), such as `BUNDLE`.
    public var groups: [SDPGroup] { values(of: SDPGroup.self) }

    /// The first `a=group:BUNDLE` (RFC 9143).
    public var bundleGroup: SDPGroup? { groups.first { $0.semantics == SDPGroup.bundle } }

    /// `a=msid` entries (RFC 8830).
    public var mediaStreamIDs: [SDPMediaStreamID] { values(of: SDPMediaStreamID.self) }

    /// `a=ssrc` entries (RFC 5576).
    public var ssrcAttributes: [SDPSSRCAttribute] { values(of: SDPSSRCAttribute.self) }

    /// `a=ssrc-group` entries (RFC 5576).
    public var ssrcGroups: [SDPSSRCGroup] { values(of: SDPSSRCGroup.self) }

    /// `a=ice-ufrag` (RFC 8839).
    public var iceUsernameFragment: String? { firstValue("ice-ufrag") }

    /// `a=ice-pwd` (RFC 8839).
    public var icePassword: String? { firstValue("ice-pwd") }

    /// The options of `a=ice-options`, such as `trickle`.
    public var iceOptions: [String] {
        values("ice-options").flatMap { SDPGrammar.fields($0[...]).map(String.init) }
    }

    /// `a=ice-lite`.
    public var isICELite: Bool { contains("ice-lite") }

    /// `a=candidate` entries.
    public var candidates: [SDPICECandidate] { values(of: SDPICECandidate.self) }

    /// `a=end-of-candidates` (RFC 8840).
    public var isEndOfCandidates: Bool { contains("end-of-candidates") }

    /// `a=fingerprint` entries (RFC 8122).
    public var fingerprints: [SDPFingerprint] { values(of: SDPFingerprint.self) }

    /// `a=setup` (RFC 4145).
    public var setup: SDPSetupRole? {
        firstValue("setup").flatMap { SDPSetupRole(rawValue: $0) }
    }

    /// `a=crypto` entries (RFC 4568).
    public var cryptos: [SDPCrypto] { values(of: SDPCrypto.self) }

    /// `a=extmap` entries (RFC 8285).
    public var extensionMaps: [SDPExtensionMap] { values(of: SDPExtensionMap.self) }

    /// `a=ptime` in milliseconds.
    public var packetTime: UInt32? { firstValue("ptime").flatMap { SDPGrammar.decimal($0, as: UInt32.self) } }

    /// `a=maxptime` in milliseconds.
    public var maximumPacketTime: UInt32? {
        firstValue("maxptime").flatMap { SDPGrammar.decimal($0, as: UInt32.self) }
    }
}

// MARK: - Validation while parsing

extension SDPAttributeList {
    /// Checks the grammar of every attribute that has a typed accessor, so that accessors never
    /// silently drop malformed input from a peer.
    static func validate(_ attribute: SDPAttribute) throws(SDPParseError) {
        let name = attribute.name
        guard SDPGrammar.isToken(name[...]) else { throw .invalidAttribute(name) }
        if SDPDirection(rawValue: name) != nil {
            guard attribute.value == nil else { throw .invalidAttribute(name) }
            return
        }
        switch name {
        case SDPRTPMap.attributeName: try check(attribute, SDPRTPMap.self)
        case SDPFormatParameters.attributeName: try check(attribute, SDPFormatParameters.self)
        case SDPRTCPFeedback.attributeName: try check(attribute, SDPRTCPFeedback.self)
        case SDPRTCPAddress.attributeName: try check(attribute, SDPRTCPAddress.self)
        case SDPGroup.attributeName: try check(attribute, SDPGroup.self)
        case SDPMediaStreamID.attributeName: try check(attribute, SDPMediaStreamID.self)
        case SDPSSRCAttribute.attributeName: try check(attribute, SDPSSRCAttribute.self)
        case SDPSSRCGroup.attributeName: try check(attribute, SDPSSRCGroup.self)
        case SDPICECandidate.attributeName: try check(attribute, SDPICECandidate.self)
        case SDPFingerprint.attributeName: try check(attribute, SDPFingerprint.self)
        case SDPCrypto.attributeName: try check(attribute, SDPCrypto.self)
        case SDPExtensionMap.attributeName: try check(attribute, SDPExtensionMap.self)
        case "mid":
            guard let value = attribute.value, SDPGrammar.isVisibleString(value[...]) else {
                throw .invalidAttribute(name)
            }
        case "setup":
            guard let value = attribute.value, SDPSetupRole(rawValue: value) != nil else {
                throw .invalidAttribute(name)
            }
        case "ice-ufrag", "ice-pwd":
            guard let value = attribute.value, SDPGrammar.isICEString(value[...], maximumLength: 256) else {
                throw .invalidAttribute(name)
            }
        case "ice-options":
            guard let value = attribute.value, !SDPGrammar.fields(value[...]).isEmpty,
                SDPGrammar.fields(value[...]).allSatisfy(SDPGrammar.isToken)
            else {
                throw .invalidAttribute(name)
            }
        case "ptime", "maxptime":
            guard let value = attribute.value, SDPGrammar.decimal(value, as: UInt32.self) != nil else {
                throw .invalidAttribute(name)
            }
        default:
            break
        }
    }

    private static func check<Value: SDPAttributeValue>(
        _ attribute: SDPAttribute,
        _ type: Value.Type
    ) throws(SDPParseError) {
        guard let value = attribute.value else { throw .invalidAttribute(attribute.name) }
        _ = try Value(attributeValue: value[...])
    }
}
