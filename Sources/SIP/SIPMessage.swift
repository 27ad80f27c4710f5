public import NIOCore

/// `Method SP Request-URI SP SIP/2.0`.
public struct SIPRequestLine: Sendable, Hashable, CustomStringConvertible {
    public var method: SIPMethod
    public var uri: SIPAnyURI

    public init(method: SIPMethod, uri: SIPAnyURI) {
        self.method = method
        self.uri = uri
    }

    public var description: String { "\(method.rawValue) \(uri) \(SIPProtocol.version)" }
}

/// `SIP/2.0 SP Status-Code SP Reason-Phrase`.
public struct SIPStatusLine: Sendable, Hashable, CustomStringConvertible {
    public var statusCode: Int
    public var reasonPhrase: String

    public init(statusCode: Int, reasonPhrase: String? = nil) {
        self.statusCode = statusCode
        self.reasonPhrase = reasonPhrase ?? Self.defaultReasonPhrase(for: statusCode)
    }

    public var description: String { "\(SIPProtocol.version) \(statusCode) \(reasonPhrase)" }

    /// The RFC 3261 reason phrase of a status code, or a generic one for its class.
    public static func defaultReasonPhrase(for statusCode: Int) -> String {
        if let phrase = reasonPhrases[statusCode] { return phrase }
        switch statusCode {
        case 100..<200: return "Trying"
        case 200..<300: return "OK"
        case 300..<400: return "Redirection"
        case 400..<500: return "Client Error"
        case 500..<600: return "Server Error"
        default: return "Global Failure"
        }
    }

    private static let reasonPhrases: [Int: String] = [
        100: "Trying", 180: "Ringing", 181: "Call Is Being Forwarded", 182: "Queued", 183: "Session Progress",
        200: "OK", 202: "Accepted", 300: "Multiple Choices", 301: "Moved Permanently", 302: "Moved Temporarily",
        305: "Use Proxy", 380: "Alternative Service", 400: "Bad Request", 401: "Unauthorized",
        402: "Payment Required", 403: "Forbidden", 404: "Not Found", 405: "Method Not Allowed",
        406: "Not Acceptable", 407: "Proxy Authentication Required", 408: "Request Timeout", 410: "Gone",
        413: "Request Entity Too Large", 414: "Request-URI Too Long", 415: "Unsupported Media Type",
        416: "Unsupported URI Scheme", 420: "Bad Extension", 421: "Extension Required",
        422: "Session Interval Too Small", 423: "Interval Too Brief", 480: "Temporarily Unavailable",
        481: "Call/Transaction Does Not Exist", 482: "Loop Detected", 483: "Too Many Hops",
        484: "Address Incomplete", 485: "Ambiguous", 486: "Busy Here", 487: "Request Terminated",
        488: "Not Acceptable Here", 491: "Request Pending", 493: "Undecipherable",
        500: "Server Internal Error", 501: "Not Implemented", 502: "Bad Gateway", 503: "Service Unavailable",
        504: "Server Time-out", 505: "Version Not Supported", 513: "Message Too Large",
        600: "Busy Everywhere", 603: "Decline", 604: "Does Not Exist Anywhere", 606: "Not Acceptable",
    ]
}

/// A SIP request or response: start line, ordered header fields and body.
///
/// Typed accessors (``vias``, ``from``, ``cseq``, ...) parse the header fields on each call;
/// after a successful `parse(datagram:)` the ones the parser validates
/// (`Via`, `From`, `To`, `Call-ID`, `CSeq`, `Max-Forwards`, `Contact`, `Route`, `Record-Route`,
/// `Content-Type`) cannot fail.
public struct SIPMessage: Sendable, Hashable {
    public enum StartLine: Sendable, Hashable {
        case request(SIPRequestLine)
        case response(SIPStatusLine)
    }

    public var startLine: StartLine
    public var headers: SIPHeaders {
        didSet { parsed = nil }
    }
    /// The body. `Content-Length` is derived from it when serializing.
    public var body: ByteBuffer
    /// The fields the parser validated, kept so that the accessors do not parse them again;
    /// dropped as soon as the headers change. Not part of the message's value.
    var parsed: SIPParsedFields?

    public init(startLine: StartLine, headers: SIPHeaders = [], body: ByteBuffer = ByteBuffer()) {
        self.startLine = startLine
        self.headers = headers
        self.body = body
    }

    public static func == (lhs: SIPMessage, rhs: SIPMessage) -> Bool {
        lhs.startLine == rhs.startLine && lhs.headers == rhs.headers && lhs.body == rhs.body
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(startLine)
        hasher.combine(headers)
        hasher.combine(body)
    }

    public static func request(method: SIPMethod, uri: SIPAnyURI, headers: SIPHeaders = [], body: ByteBuffer = ByteBuffer()) -> SIPMessage {
        SIPMessage(startLine: .request(SIPRequestLine(method: method, uri: uri)), headers: headers, body: body)
    }

    public static func response(statusCode: Int, reasonPhrase: String? = nil, headers: SIPHeaders = [], body: ByteBuffer = ByteBuffer()) -> SIPMessage {
        SIPMessage(startLine: .response(SIPStatusLine(statusCode: statusCode, reasonPhrase: reasonPhrase)), headers: headers, body: body)
    }

    /// A response to `request` (RFC 3261 §8.2.6): copies `Via`, `From`, `To`, `Call-ID` and
    /// `CSeq`, adding `toTag` to `To` when it has no tag yet.
    public static func response(to request: SIPMessage, statusCode: Int, reasonPhrase: String? = nil, toTag: String? = nil) -> SIPMessage {
        var headers = SIPHeaders()
        for field in request.headers where field.name == .via || field.name == .from || field.name == .callID || field.name == .cseq {
            headers.add(field.name, field.value)
        }
        if let toValue = request.headers[.to] {
            var value = toValue
            if let toTag, var address = try? SIPNameAddress(parsing: toValue), address.tag == nil {
                address.tag = toTag
                value = address.description
            }
            let position = headers.firstIndex { $0.name == .callID } ?? headers.count
            headers.insert(.to, value, at: position)
        }
        return .response(statusCode: statusCode, reasonPhrase: reasonPhrase, headers: headers)
    }

    // MARK: Start line

    public var isRequest: Bool {
        if case .request = startLine { return true }
        return false
    }

    public var method: SIPMethod? {
        if case .request(let line) = startLine { return line.method }
        return nil
    }

    public var requestURI: SIPAnyURI? {
        if case .request(let line) = startLine { return line.uri }
        return nil
    }

    public var statusCode: Int? {
        if case .response(let line) = startLine { return line.statusCode }
        return nil
    }

    public var reasonPhrase: String? {
        if case .response(let line) = startLine { return line.reasonPhrase }
        return nil
    }

    // MARK: Typed header fields

    /// Every Via hop, top first.
    public var vias: [SIPVia] {
        get throws(SIPParseError) {
            if let parsed { return parsed.vias }
            var result: [SIPVia] = []
            for value in try headers.listValues(for: .via) {
                do throws(SIPParseError) {
                    result.append(try SIPVia(parsing: value))
                } catch {
                    throw error.inHeader(.via)
                }
            }
            return result
        }
    }

    public var topVia: SIPVia? {
        get throws(SIPParseError) {
            if let parsed { return parsed.topVia }
            guard let first = headers[.via] else { return nil }
            do throws(SIPParseError) {
                let element = try SIPHeaders.splitList(first).first ?? first
                return try SIPVia(parsing: element)
            } catch {
                throw error.inHeader(.via)
            }
        }
    }

    public var from: SIPNameAddress {
        get throws(SIPParseError) {
            if let parsed { return parsed.from }
            return try singleAddress(.from)
        }
    }

    public var to: SIPNameAddress {
        get throws(SIPParseError) {
            if let parsed { return parsed.to }
            return try singleAddress(.to)
        }
    }

    public var callID: String? { headers[.callID] }

    public var cseq: SIPCSeq {
        get throws(SIPParseError) {
            if let parsed { return parsed.cseq }
            guard let value = headers[.cseq] else { throw SIPParseError(.missingHeader(.cseq), "no CSeq") }
            do throws(SIPParseError) {
                return try SIPCSeq(parsing: value)
            } catch {
                throw error.inHeader(.cseq)
            }
        }
    }

    /// `Max-Forwards`, 0...255; nil when absent.
    public var maxForwards: Int? {
        get throws(SIPParseError) { try scalar(.maxForwards, limit: 255) }
    }

    /// `Expires` in seconds (at most 2^32 - 1); nil when absent.
    public var expires: Int? {
        get throws(SIPParseError) { try scalar(.expires, limit: Int(UInt32.max)) }
    }

    /// The `Content-Length` header value; nil when absent. Serialization always writes the
    /// body's length instead.
    public var contentLength: Int? {
        get throws(SIPParseError) { try scalar(.contentLength, limit: Int(Int32.max)) }
    }

    /// `Contact`: nil when absent, the wildcard, or the list of addresses.
    public var contacts: SIPContactList? {
        get throws(SIPParseError) {
            if let parsed { return parsed.contacts }
            guard headers.contains(.contact) else { return nil }
            let values = try headers.listValues(for: .contact)
            if values.count == 1, values[0] == "*" { return .wildcard }
            return .addresses(try addresses(values, .contact))
        }
    }

    public var routes: [SIPNameAddress] {
        get throws(SIPParseError) {
            if let parsed { return parsed.routes }
            return try addresses(try headers.listValues(for: .route), .route)
        }
    }

    public var recordRoutes: [SIPNameAddress] {
        get throws(SIPParseError) {
            if let parsed { return parsed.recordRoutes }
            return try addresses(try headers.listValues(for: .recordRoute), .recordRoute)
        }
    }

    public var contentType: SIPContentType? {
        get throws(SIPParseError) {
            guard let value = headers[.contentType] else { return nil }
            do throws(SIPParseError) {
                return try SIPContentType(parsing: value)
            } catch {
                throw error.inHeader(.contentType)
            }
        }
    }

    /// Option tags of `Supported` (empty when absent).
    public var supported: [String] {
        get throws(SIPParseError) { try optionTags(.supported) }
    }

    /// Option tags of `Require` (empty when absent).
    public var require: [String] {
        get throws(SIPParseError) { try optionTags(.require) }
    }

    /// Option tags of `Proxy-Require` (empty when absent).
    public var proxyRequire: [String] {
        get throws(SIPParseError) { try optionTags(.proxyRequire) }
    }

    /// The `Require` option tags not in `supported`: a UAS answers a request for which this
    /// is not empty with 420 (Bad Extension) listing them in `Unsupported` (RFC 3261 §8.2.2.3).
    /// Option tags compare case-insensitively.
    public func unsupportedRequire(supported: some Sequence<String>) throws(SIPParseError) -> [String] {
        let known = Set(supported.map { $0.lowercased() })
        return try require.filter { !known.contains($0.lowercased()) }
    }

    /// The 420 response for ``unsupportedRequire(supported:)``, or nil when every required
    /// extension is supported.
    public func badExtensionResponse(supported: some Sequence<String>, toTag: String? = nil) throws(SIPParseError) -> SIPMessage? {
        let missing = try unsupportedRequire(supported: supported)
        guard !missing.isEmpty else { return nil }
        var response = SIPMessage.response(to: self, statusCode: 420, toTag: toTag)
        response.headers.add(.unsupported, missing.joined(separator: ", "))
        return response
    }

    private func singleAddress(_ name: SIPHeaderName) throws(SIPParseError) -> SIPNameAddress {
        guard let value = headers[name] else { throw SIPParseError(.missingHeader(name), "no \(name.canonical)") }
        do throws(SIPParseError) {
            return try SIPNameAddress(parsing: value)
        } catch {
            throw error.inHeader(name)
        }
    }

    private func addresses(_ values: [String], _ name: SIPHeaderName) throws(SIPParseError) -> [SIPNameAddress] {
        var result: [SIPNameAddress] = []
        result.reserveCapacity(values.count)
        for value in values {
            do throws(SIPParseError) {
                result.append(try SIPNameAddress(parsing: value))
            } catch {
                throw error.inHeader(name)
            }
        }
        return result
    }

    private func scalar(_ name: SIPHeaderName, limit: Int) throws(SIPParseError) -> Int? {
        guard let value = headers[name] else { return nil }
        guard let number = SIPScalar.parse(value, limit: limit) else {
            throw SIPParseError(.malformedHeader(name), "\(name.canonical) is not a number in 0...\(limit)")
        }
        return number
    }

    private func optionTags(_ name: SIPHeaderName) throws(SIPParseError) -> [String] {
        let values = try headers.listValues(for: name)
        for value in values where !SIPGrammar.isToken(value) {
            throw SIPParseError(.malformedHeader(name), "\(name.canonical) holds a non-token option tag")
        }
        return values
    }

    // MARK: Serialization

    /// Writes the canonical wire form: long header names, CRLF line ends, a single
    /// `Content-Length` holding the body's length (at the position of the first one, or last).
    public func serialize(into buffer: inout ByteBuffer) {
        switch startLine {
        case .request(let line):
            buffer.writeString(line.method.rawValue)
            buffer.writeInteger(SIPBytes.space)
            buffer.writeString(line.uri.description)
            buffer.writeString(" SIP/2.0\r\n")
        case .response(let line):
            buffer.writeString("SIP/2.0 ")
            buffer.writeString(String(line.statusCode))
            buffer.writeInteger(SIPBytes.space)
            buffer.writeString(SIPHeaderField.sanitized(line.reasonPhrase))
            buffer.writeString("\r\n")
        }
        var wroteLength = false
        for field in headers.fields {
            if field.name == .contentLength {
                if wroteLength { continue }
                wroteLength = true
                writeContentLength(into: &buffer)
                continue
            }
            buffer.writeString(field.name.canonical)
            buffer.writeString(": ")
            buffer.writeString(field.value)
            buffer.writeString("\r\n")
        }
        if !wroteLength { writeContentLength(into: &buffer) }
        buffer.writeString("\r\n")
        var body = self.body
        buffer.writeBuffer(&body)
    }

    private func writeContentLength(into buffer: inout ByteBuffer) {
        buffer.writeString("Content-Length: ")
        buffer.writeString(String(body.readableBytes))
        buffer.writeString("\r\n")
    }

    /// The canonical wire form in a new buffer.
    public func serialized(allocator: ByteBufferAllocator = ByteBufferAllocator()) -> ByteBuffer {
        var buffer = allocator.buffer(capacity: 512 + body.readableBytes)
        serialize(into: &buffer)
        return buffer
    }
}

extension SIPMessage: CustomStringConvertible {
    /// The wire form as text; a body that is not UTF-8 is shown with replacement characters.
    public var description: String {
        let buffer = serialized()
        return String(decoding: buffer.readableBytesView, as: UTF8.self)
    }
}

/// What ``SIPMessage/parse(datagram:)`` parsed of a message while validating it: the fields
/// every layer reads (transaction matching, dialogs, the B2BUA), kept with the message.
final class SIPParsedFields: Sendable {
    let vias: [SIPVia]
    let topVia: SIPVia
    let from: SIPNameAddress
    let to: SIPNameAddress
    let cseq: SIPCSeq
    let contacts: SIPContactList?
    let routes: [SIPNameAddress]
    let recordRoutes: [SIPNameAddress]

    init(
        vias: [SIPVia], topVia: SIPVia, from: SIPNameAddress, to: SIPNameAddress, cseq: SIPCSeq,
        contacts: SIPContactList?, routes: [SIPNameAddress], recordRoutes: [SIPNameAddress]
    ) {
        self.vias = vias
        self.topVia = topVia
        self.from = from
        self.to = to
        self.cseq = cseq
        self.contacts = contacts
        self.routes = routes
        self.recordRoutes = recordRoutes
    }
}
