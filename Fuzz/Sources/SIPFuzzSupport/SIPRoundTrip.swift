public import NIOCore
public import SIP

/// The serializer/parser contract of ``SIPMessage``: a message that parsed serializes to a
/// datagram that parses again to the same message, and serializing that gives the same bytes.
public enum SIPRoundTrip {
    /// What `parse(serialize(message))` must return: the message with a single `Content-Length`
    /// holding the body's length, where `serialize(into:)` writes it.
    public static func expectedReparse(of message: SIPMessage) -> SIPMessage {
        var expected = message
        expected.headers.replace(.contentLength, with: String(message.body.readableBytes))
        return expected
    }

    /// Traps when the round trip of `message` fails; returns the serialized form.
    @discardableResult
    public static func check(_ message: SIPMessage, origin: String = "parsed message") -> ByteBuffer {
        let wire = message.serialized()
        let reparsed: SIPMessage
        do {
            reparsed = try SIPMessage.parse(datagram: wire)
        } catch {
            propertyFailure("serialized \(origin) does not parse again: \(error)", "serialized: \(quoted(wire.readableBytesView))")
        }
        let expected = expectedReparse(of: message)
        guard reparsed == expected else {
            propertyFailure(
                "re-parsed \(origin) differs from the original: \(difference(expected, reparsed))",
                "serialized: \(quoted(wire.readableBytesView))"
            )
        }
        let again = reparsed.serialized()
        guard again == wire else {
            propertyFailure(
                "serialization of \(origin) is not a fixed point",
                "first:  \(quoted(wire.readableBytesView))\nsecond: \(quoted(again.readableBytesView))"
            )
        }
        return wire
    }

    /// Where two messages differ, for reports.
    public static func difference(_ expected: SIPMessage, _ actual: SIPMessage) -> String {
        if expected.startLine != actual.startLine {
            return "start line \(String(reflecting: expected.startLine)) became \(String(reflecting: actual.startLine))"
        }
        if expected.headers.count != actual.headers.count {
            return "\(expected.headers.count) header fields became \(actual.headers.count)"
        }
        for (index, (left, right)) in zip(expected.headers, actual.headers).enumerated() where left != right {
            return "header field \(index) \(left.name): \(left.value.debugDescription) became \(right.name): \(right.value.debugDescription)"
        }
        if expected.body != actual.body {
            return "body \(quoted(expected.body.readableBytesView, limit: 256)) became \(quoted(actual.body.readableBytesView, limit: 256))"
        }
        return "messages differ"
    }
}
