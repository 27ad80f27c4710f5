/// `a=group:<semantics> <identification tag>...` (RFC 5888), such as `a=group:BUNDLE 0 1`.
public struct SDPGroup: SDPAttributeValue, Hashable {
    public static let attributeName = "group"
    /// The semantics of RFC 9143 bundled media.
    public static let bundle = "BUNDLE"

    public var semantics: String
    /// The `a=mid` values of the grouped media descriptions, in order.
    public var identificationTags: [String]

    public init(semantics: String, identificationTags: [String]) {
        self.semantics = semantics
        self.identificationTags = identificationTags
    }

    public init(attributeValue: Substring) throws(SDPParseError) {
        let fields = SDPGrammar.fields(attributeValue)
        guard let semantics = fields.first, SDPGrammar.isToken(semantics) else {
            throw .invalidAttribute(Self.attributeName)
        }
        self.semantics = String(semantics)
        self.identificationTags = fields.dropFirst().map(String.init)
    }

    public var attributeValue: String {
        ([semantics] + identificationTags).joined(separator: " ")
    }
}

/// `a=msid:<stream id> [<track id>]` (RFC 8830); `-` as stream id means no stream.
public struct SDPMediaStreamID: SDPAttributeValue, Hashable {
    public static let attributeName = "msid"

    public var streamID: String
    public var trackID: String?

    public init(streamID: String, trackID: String? = nil) {
        self.streamID = streamID
        self.trackID = trackID
    }

    public init(attributeValue: Substring) throws(SDPParseError) {
        let fields = SDPGrammar.fields(attributeValue)
        guard fields.count == 1 || fields.count == 2, fields.allSatisfy(SDPGrammar.isVisibleString) else {
            throw .invalidAttribute(Self.attributeName)
        }
        self.streamID = String(fields[0])
        self.trackID = fields.count == 2 ? String(fields[1]) : nil
    }

    public var attributeValue: String {
        if let trackID {
            return "\(streamID) \(trackID)"
        }
        return streamID
    }
}

/// `a=ssrc:<ssrc> <attribute>[:<value>]` (RFC 5576), such as `a=ssrc:3735928559 cname:x`.
public struct SDPSSRCAttribute: SDPAttributeValue, Hashable {
    public static let attributeName = "ssrc"

    public var ssrc: UInt32
    /// The source attribute name, such as `cname` or `msid`.
    public var attribute: String
    public var value: String?

    public init(ssrc: UInt32, attribute: String, value: String? = nil) {
        self.ssrc = ssrc
        self.attribute = attribute
        self.value = value
    }

    public init(attributeValue: Substring) throws(SDPParseError) {
        let (ssrcText, rest) = SDPGrammar.splitOnce(attributeValue, at: " ")
        guard let ssrc = SDPGrammar.decimal(ssrcText, as: UInt32.self), let rest else {
            throw .invalidAttribute(Self.attributeName)
        }
        let (name, value) = SDPGrammar.splitOnce(rest, at: ":")
        guard SDPGrammar.isToken(name) else { throw .invalidAttribute(Self.attributeName) }
        self.ssrc = ssrc
        self.attribute = String(name)
        self.value = value.map(String.init)
    }

    public var attributeValue: String {
        if let value {
            return "\(ssrc) \(attribute):\(value)"
        }
        return "\(ssrc) \(attribute)"
    }
}

/// `a=ssrc-group:<semantics> <ssrc>...` (RFC 5576), such as `a=ssrc-group:FID 1 2`.
public struct SDPSSRCGroup: SDPAttributeValue, Hashable {
    public static let attributeName = "ssrc-group"

    /// `FID` (RTX), `FEC-FR`, `SIM`, ...
    public var semantics: String
    public var ssrcs: [UInt32]

    public init(semantics: String, ssrcs: [UInt32]) {
        self.semantics = semantics
        self.ssrcs = ssrcs
    }

    public init(attributeValue: Substring) throws(SDPParseError) {
        let fields = SDPGrammar.fields(attributeValue)
        guard let semantics = fields.first, SDPGrammar.isToken(semantics), fields.count >= 2 else {
            throw .invalidAttribute(Self.attributeName)
        }
        var ssrcs: [UInt32] = []
        ssrcs.reserveCapacity(fields.count - 1)
        for field in fields.dropFirst() {
            guard let ssrc = SDPGrammar.decimal(field, as: UInt32.self) else {
                throw .invalidAttribute(Self.attributeName)
            }
            ssrcs.append(ssrc)
        }
        self.semantics = String(semantics)
        self.ssrcs = ssrcs
    }

    public var attributeValue: String {
        ([semantics] + ssrcs.map { String($0) }).joined(separator: " ")
    }
}
