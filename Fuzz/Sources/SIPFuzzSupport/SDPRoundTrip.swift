public import SIP

/// The serializer/parser contract of ``SDPSessionDescription``: a description that parsed
/// serializes to text that parses again to the same description, and serializing that gives
/// the same text.
public enum SDPRoundTrip {
    /// Limits for the re-parse. The original input already passed the real limits; the
    /// canonical form may be larger (bare LF becomes CRLF), so the re-parse checks the grammar
    /// only.
    public static let reparseLimits = SDPParsingLimits(
        maximumBytes: .max,
        maximumLines: .max,
        maximumLineLength: .max,
        maximumMediaDescriptions: .max
    )

    /// Traps when the round trip of `description` fails.
    public static func check(_ description: SDPSessionDescription, origin: String = "parsed session description") {
        let text = description.serialized()
        let reparsed: SDPSessionDescription
        do {
            reparsed = try SDPSessionDescription(parsing: text, limits: reparseLimits)
        } catch {
            propertyFailure("serialized \(origin) does not parse again: \(error)", "serialized: \(quoted(text.utf8))")
        }
        guard reparsed == description else {
            propertyFailure(
                "re-parsed \(origin) differs from the original: \(difference(description, reparsed))",
                "serialized: \(quoted(text.utf8))"
            )
        }
        let again = reparsed.serialized()
        guard again == text else {
            propertyFailure(
                "serialization of \(origin) is not a fixed point",
                "first:  \(quoted(text.utf8))\nsecond: \(quoted(again.utf8))"
            )
        }
    }

    /// Which part of two descriptions differs, for reports.
    public static func difference(_ expected: SDPSessionDescription, _ actual: SDPSessionDescription) -> String {
        func describe<T>(_ value: T) -> String { String(reflecting: value) }
        let sessionParts: [(String, String, String)] = [
            ("version", describe(expected.version), describe(actual.version)),
            ("origin", describe(expected.origin), describe(actual.origin)),
            ("session name", describe(expected.sessionName), describe(actual.sessionName)),
            ("information", describe(expected.information), describe(actual.information)),
            ("uri", describe(expected.uri), describe(actual.uri)),
            ("emails", describe(expected.emails), describe(actual.emails)),
            ("phone numbers", describe(expected.phoneNumbers), describe(actual.phoneNumbers)),
            ("connection", describe(expected.connection), describe(actual.connection)),
            ("bandwidths", describe(expected.bandwidths), describe(actual.bandwidths)),
            ("timing", describe(expected.timing), describe(actual.timing)),
            ("time zones", describe(expected.timeZoneAdjustments), describe(actual.timeZoneAdjustments)),
            ("encryption key", describe(expected.encryptionKey), describe(actual.encryptionKey)),
            ("attributes", describe(expected.attributes), describe(actual.attributes)),
        ]
        for (name, left, right) in sessionParts where left != right {
            return "\(name) \(left) became \(right)"
        }
        if expected.media.count != actual.media.count {
            return "\(expected.media.count) media descriptions became \(actual.media.count)"
        }
        for (index, (left, right)) in zip(expected.media, actual.media).enumerated() where left != right {
            return "media description \(index) \(describe(left)) became \(describe(right))"
        }
        return "descriptions differ"
    }
}
