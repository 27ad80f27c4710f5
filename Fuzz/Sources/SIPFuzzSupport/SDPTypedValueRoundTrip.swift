public import SIP

/// The typed attribute values a B2BUA rebuilds attributes from (``SDPAttribute/init(_:)``)
/// must survive their own round trip: `Value(attributeValue: value.attributeValue) == value`.
public enum SDPTypedValueRoundTrip {
    public static func check(_ attributes: SDPAttributeList, origin: String) {
        check(attributes, SDPRTPMap.self, origin)
        check(attributes, SDPFormatParameters.self, origin)
        check(attributes, SDPRTCPFeedback.self, origin)
        check(attributes, SDPRTCPAddress.self, origin)
        check(attributes, SDPCrypto.self, origin)
        check(attributes, SDPExtensionMap.self, origin)
        check(attributes, SDPGroup.self, origin)
        check(attributes, SDPMediaStreamID.self, origin)
        check(attributes, SDPSSRCAttribute.self, origin)
        check(attributes, SDPSSRCGroup.self, origin)
        check(attributes, SDPFingerprint.self, origin)
        check(attributes, SDPICECandidate.self, origin)
    }

    private static func check<Value: SDPAttributeValue & Equatable>(_ attributes: SDPAttributeList, _ type: Value.Type, _ origin: String) {
        for value in attributes.values(of: type) {
            let text = value.attributeValue
            let reparsed: Value
            do {
                reparsed = try Value(attributeValue: text[...])
            } catch {
                propertyFailure("a=\(Value.attributeName) value in \(origin) does not parse again: \(error)", "serialized: \(text.debugDescription)")
            }
            guard reparsed == value else {
                propertyFailure(
                    "a=\(Value.attributeName) value in \(origin) differs after a round trip",
                    "serialized: \(text.debugDescription)\nbefore: \(String(reflecting: value))\nafter:  \(String(reflecting: reparsed))"
                )
            }
        }
    }
}
