import NIOCore
import SIP
import SIPFuzzSupport

/// libFuzzer entry point for `SIPMessage.parse(datagram:)`.
///
/// Properties: parsing never traps; a message that parses serializes to a datagram that parses
/// again to the same message (with the `Content-Length` the serializer derives), and
/// serializing that gives the same bytes; the typed header values round-trip; a response built
/// for a request round-trips too; the typed accessors and rejection answers do not trap.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let datagram = ByteBuffer(bytes: UnsafeBufferPointer(start: data, count: size))
    let message: SIPMessage
    do {
        message = try SIPMessage.parse(datagram: datagram)
    } catch {
        // What a transport does with a rejected request.
        if let answer = error.makeResponse() { _ = answer.serialized() }
        return 0
    }
    SIPRoundTrip.check(message)
    SIPHeaderValueRoundTrip.check(message)
    exerciseAccessors(message)
    if message.isRequest {
        let response = SIPMessage.response(to: message, statusCode: 486, toTag: "fuzz1")
        SIPRoundTrip.check(response, origin: "response built by response(to:)")
    }
    return 0
}

/// Accessors a B2BUA calls on a parsed message; they may throw, never trap.
private func exerciseAccessors(_ message: SIPMessage) {
    _ = try? message.topVia
    _ = try? message.expires
    _ = try? message.contentLength
    _ = try? message.supported
    _ = try? message.proxyRequire
    _ = try? message.badExtensionResponse(supported: ["100rel", "timer"], toTag: "fuzz2")?.serialized()
    _ = message.semanticIssues.map(\.suggestedStatus)
    if let contentType = try? message.contentType, let boundary = contentType.boundary {
        let parts = (try? SIPMultipart.split(message.body, boundary: boundary)) ?? []
        for part in parts { _ = part.contentType }
    }
}
