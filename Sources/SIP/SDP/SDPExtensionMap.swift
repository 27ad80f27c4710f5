/// `a=extmap:<id>[/<direction>] <URI> [<extension attributes>]` (RFC 8285 §8), an RTP header
/// extension such as `a=extmap:1 urn:ietf:params:rtp-hdrext:ssrc-audio-level`.
public struct SDPExtensionMap: SDPAttributeValue, Hashable {
    public static let attributeName = "extmap"

    /// 1...14 for one-byte headers, 1...255 for two-byte headers, 4096...4351 in offers for
    /// the answerer to renumber.
    public var id: UInt16
    public var direction: SDPDirection?
    public var uri: String
    public var extensionAttributes: String?

    public init(id: UInt16, direction: SDPDirection? = nil, uri: String, extensionAttributes: String? = nil) {
        self.id = id
        self.direction = direction
        self.uri = uri
        self.extensionAttributes = extensionAttributes
    }

    public init(attributeValue: Substring) throws(SDPParseError) {
        let (idField, rest) = SDPGrammar.splitOnce(attributeValue, at: " ")
        let (idText, directionText) = SDPGrammar.splitOnce(idField, at: "/")
        guard let id = SDPGrammar.decimal(idText, as: UInt16.self), id >= 1, id <= 4351, let rest else {
            throw .invalidAttribute(Self.attributeName)
        }
        if let directionText {
            guard let direction = SDPDirection(rawValue: String(directionText)) else {
                throw .invalidAttribute(Self.attributeName)
            }
            self.direction = direction
        } else {
            self.direction = nil
        }
        let (uri, attributes) = SDPGrammar.splitOnce(rest, at: " ")
        guard SDPGrammar.isVisibleString(uri) else { throw .invalidAttribute(Self.attributeName) }
        self.id = id
        self.uri = String(uri)
        self.extensionAttributes = attributes.map(String.init)
    }

    public var attributeValue: String {
        var result = String(id)
        if let direction {
            result += "/\(direction.rawValue)"
        }
        result += " \(uri)"
        if let extensionAttributes {
            result += " \(extensionAttributes)"
        }
        return result
    }
}
