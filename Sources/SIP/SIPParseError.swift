/// Why a URI, a header value or a whole message was rejected, and what the transport should
/// answer.
///
/// A transport that fails to parse a request answers it only when ``isAnswerable`` is true
/// (the start line is a request and the `Via` and `CSeq` header fields could be read, so a
/// response can be routed and matched); ``makeResponse()`` builds that answer. Everything else
/// is dropped silently, as RFC 3261 §18.3 and RFC 4475 ask.
public struct SIPParseError: Error, Sendable, Hashable, CustomStringConvertible {
    public enum Code: Sendable, Hashable {
        /// A URI does not match the RFC 3261 §25.1 grammar.
        case invalidURI
        /// The URI scheme is not `sip` or `sips` where a SIP URI is required.
        case unsupportedURIScheme
        /// A standalone header value does not match its grammar.
        case malformedValue
        /// The request line or status line is malformed.
        case malformedStartLine
        /// The SIP version is well formed but not `SIP/2.0`.
        case unsupportedVersion
        /// The header section cannot be split into header fields.
        case malformedHeaderSection
        /// The value of this header field does not match its grammar.
        case malformedHeader(SIPHeaderName)
        /// A mandatory header field is absent.
        case missingHeader(SIPHeaderName)
        /// A header field that must appear once appears several times.
        case duplicateHeader(SIPHeaderName)
        /// `Content-Length` is not a non-negative decimal number, or there are differing values.
        case invalidContentLength
        /// `Content-Length` announces more octets than the datagram carries.
        case truncatedBody
        /// A message on a stream has no `Content-Length`.
        case missingContentLength
        /// The header section exceeds the configured maximum message size.
        case headerSectionTooLarge
        /// Header section plus announced body exceed the configured maximum message size.
        case bodyTooLarge
        /// The `CSeq` method differs from the request method.
        case cseqMethodMismatch
        /// The Request-URI carries URI headers (RFC 3261 §19.1.1 forbids them there).
        case requestURIWithHeaders
        /// A multipart body does not follow RFC 2046.
        case malformedMultipart
    }

    public var code: Code
    /// A short human-readable explanation, safe to log (never contains raw input beyond a
    /// header name).
    public var detail: String
    /// The header fields copied into an answer: `Via`, `From`, `To`, `Call-ID`, `CSeq`.
    /// Present only when the failing message is a request that can be answered.
    public var answerHeaders: SIPHeaders?
    /// Whether the failing message was a response (responses are never answered).
    public var concernsResponse: Bool

    public init(_ code: Code, _ detail: String, answerHeaders: SIPHeaders? = nil, concernsResponse: Bool = false) {
        self.code = code
        self.detail = detail
        self.answerHeaders = answerHeaders
        self.concernsResponse = concernsResponse
    }

    /// The status code this failure maps to, or `nil` when the failing message was a
    /// response, which is never answered.
    public var responseStatus: Int? {
        if concernsResponse { return nil }
        switch code {
        case .unsupportedVersion: return 505
        case .bodyTooLarge: return 413
        case .headerSectionTooLarge: return 513
        case .unsupportedURIScheme: return 416
        default: return 400
        }
    }

    /// True when a response can be sent: the message is a request whose `Via` and `CSeq`
    /// header fields were readable.
    public var isAnswerable: Bool { answerHeaders != nil && responseStatus != nil }

    /// The response the transport sends, when ``isAnswerable``.
    public func makeResponse() -> SIPMessage? {
        guard let status = responseStatus, let answerHeaders else { return nil }
        return SIPMessage(
            startLine: .response(SIPStatusLine(statusCode: status, reasonPhrase: SIPStatusLine.defaultReasonPhrase(for: status))),
            headers: answerHeaders
        )
    }

    public var description: String { "SIPParseError(\(code)): \(detail)" }

    func withAnswer(_ headers: SIPHeaders?, concernsResponse: Bool) -> SIPParseError {
        var copy = self
        copy.answerHeaders = headers
        copy.concernsResponse = concernsResponse
        return copy
    }

    func inHeader(_ name: SIPHeaderName) -> SIPParseError {
        SIPParseError(.malformedHeader(name), "\(name.canonical): \(detail)")
    }
}
