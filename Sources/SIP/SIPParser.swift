public import NIOCore

extension SIPMessage {
    /// Parses one message from a datagram (UDP, or a WebSocket message).
    ///
    /// Leading CRLFs are skipped. Without `Content-Length` the body is the rest of the
    /// datagram; with it, octets beyond the body are ignored (RFC 3261 §18.3) and a body
    /// shorter than announced is an error (RFC 4475 §3.1.2.2). The message is validated:
    /// mandatory header fields are present once, and the header fields listed on
    /// ``SIPMessage`` parse.
    public static func parse(datagram: ByteBuffer) throws(SIPParseError) -> SIPMessage {
        let scanned: Result<(SIPWireParser.Head, Int), SIPParseError> = datagram.withUnsafeReadableBytes { raw in
            let bytes = raw.assumingMemoryBound(to: UInt8.self)
            return Result { () throws(SIPParseError) -> (SIPWireParser.Head, Int) in
                try SIPWireParser.parseDatagramHead(bytes)
            }
        }
        let (head, bodyStart) = try scanned.get()
        let available = datagram.readableBytes - bodyStart
        let bodyLength: Int
        do throws(SIPParseError) {
            if let declared = try SIPWireParser.contentLength(head.headers) {
                guard declared <= available else {
                    throw SIPParseError(.truncatedBody, "Content-Length \(declared) exceeds the \(available) octets received")
                }
                bodyLength = declared
            } else {
                bodyLength = available
            }
        } catch {
            throw head.failure(error)
        }
        let body = SIPWireParser.ownedBody(of: datagram, at: datagram.readerIndex + bodyStart, length: bodyLength)
        return try SIPWireParser.assemble(head, body: body)
    }

    /// Parses one message from a datagram given as bytes.
    public static func parse(datagram: [UInt8]) throws(SIPParseError) -> SIPMessage {
        try parse(datagram: ByteBuffer(bytes: datagram))
    }
}

/// The byte-level parser shared by the datagram path and ``SIPStreamFramer``.
enum SIPWireParser {
    /// A parsed start line and header section, before the body is attached.
    struct Head {
        var startLine: Result<SIPMessage.StartLine, SIPParseError>
        var isRequestLike: Bool
        var headers: SIPHeaders

        /// The header fields an answer copies, when the message is a request whose `Via` and
        /// `CSeq` were read.
        var answerHeaders: SIPHeaders? {
            guard isRequestLike, headers.contains(.via), headers.contains(.cseq) else { return nil }
            return SIPHeaders(headers.fields.filter {
                $0.name == .via || $0.name == .from || $0.name == .to || $0.name == .callID || $0.name == .cseq
            })
        }

        func failure(_ error: SIPParseError) -> SIPParseError {
            error.withAnswer(answerHeaders, concernsResponse: !isRequestLike)
        }
    }

    static func parseDatagramHead(_ bytes: UnsafeBufferPointer<UInt8>) throws(SIPParseError) -> (Head, Int) {
        var start = 0
        while start + 1 < bytes.count, bytes[start] == SIPBytes.cr, bytes[start + 1] == SIPBytes.lf { start += 2 }
        guard start < bytes.count else { throw SIPParseError(.malformedHeaderSection, "empty datagram") }
        if let blank = findBlankLine(bytes, from: start) {
            return (try parseHead(bytes, start: start, linesEnd: blank + 2), blank + 4)
        }
        // A datagram is complete: a header section ending with its last CRLF is accepted.
        let count = bytes.count
        guard count - start >= 2, bytes[count - 2] == SIPBytes.cr, bytes[count - 1] == SIPBytes.lf else {
            throw SIPParseError(.malformedHeaderSection, "header section is not terminated")
        }
        return (try parseHead(bytes, start: start, linesEnd: count), count)
    }

    /// The index of the CR of the first CRLFCRLF at or after `from`.
    static func findBlankLine(_ bytes: UnsafeBufferPointer<UInt8>, from: Int) -> Int? {
        var index = from
        let last = bytes.count - 4
        while index <= last {
            if bytes[index + 3] != SIPBytes.lf {
                index += bytes[index + 3] == SIPBytes.cr ? 1 : 4
                continue
            }
            if bytes[index] == SIPBytes.cr, bytes[index + 1] == SIPBytes.lf, bytes[index + 2] == SIPBytes.cr {
                return index
            }
            index += 1
        }
        return nil
    }

    /// Parses the start line and header fields in `start..<linesEnd`, where every line ends
    /// with CRLF.
    static func parseHead(_ bytes: UnsafeBufferPointer<UInt8>, start: Int, linesEnd: Int) throws(SIPParseError) -> Head {
        let startLineEnd = try lineEnd(bytes, from: start, limit: linesEnd)
        let (startLine, isRequestLike) = parseStartLine(UnsafeBufferPointer(rebasing: bytes[start..<startLineEnd.end]),
                                                        nonASCII: startLineEnd.nonASCII)
        let headers = try parseFields(bytes, start: startLineEnd.end + 2, linesEnd: linesEnd)
        return Head(startLine: startLine, isRequestLike: isRequestLike, headers: headers)
    }

    /// Parses header fields in `start..<linesEnd`, where every line ends with CRLF.
    static func parseFields(_ bytes: UnsafeBufferPointer<UInt8>, start: Int, linesEnd: Int) throws(SIPParseError) -> SIPHeaders {
        var headers = SIPHeaders()
        var index = start
        var scratch: [UInt8] = []
        while index < linesEnd {
            guard !SIPBytes.isWhitespace(bytes[index]) else {
                throw SIPParseError(.malformedHeaderSection, "continuation line without a header field")
            }
            var cursor = index
            while cursor < linesEnd, SIPBytes.isMember(bytes[cursor], .token) { cursor += 1 }
            let nameRange = index..<cursor
            guard !nameRange.isEmpty else { throw SIPParseError(.malformedHeaderSection, "invalid header field name") }
            while cursor < linesEnd, SIPBytes.isWhitespace(bytes[cursor]) { cursor += 1 }
            guard cursor < linesEnd, bytes[cursor] == SIPBytes.colon else {
                throw SIPParseError(.malformedHeaderSection, "header line without a colon")
            }
            let name = SIPHeaderName(String(decoding: UnsafeBufferPointer(rebasing: bytes[nameRange]), as: UTF8.self))

            // Collect the value and its continuation lines.
            var segmentStart = cursor + 1
            var segments = 0
            var nonASCII = false
            var singleRange: Range<Int> = segmentStart..<segmentStart
            scratch.removeAll(keepingCapacity: true)
            while true {
                let line = try lineEnd(bytes, from: segmentStart, limit: linesEnd)
                nonASCII = nonASCII || line.nonASCII
                var lower = segmentStart, upper = line.end
                while lower < upper, SIPBytes.isWhitespace(bytes[lower]) { lower += 1 }
                while upper > lower, SIPBytes.isWhitespace(bytes[upper - 1]) { upper -= 1 }
                if lower < upper {
                    if segments == 0 {
                        singleRange = lower..<upper
                    } else {
                        if segments == 1 { scratch.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[singleRange])) }
                        scratch.append(SIPBytes.space)
                        scratch.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[lower..<upper]))
                    }
                    segments += 1
                }
                let next = line.end + 2
                if next < linesEnd, SIPBytes.isWhitespace(bytes[next]) {
                    segmentStart = next
                    continue
                }
                index = next
                break
            }

            let value: String?
            if segments <= 1 {
                let slice = UnsafeBufferPointer(rebasing: bytes[singleRange])
                value = nonASCII ? String(validating: slice, as: UTF8.self) : String(decoding: slice, as: UTF8.self)
            } else {
                value = nonASCII ? String(validating: scratch, as: UTF8.self) : String(decoding: scratch, as: UTF8.self)
            }
            guard let value else {
                throw SIPParseError(.malformedHeader(name), "\(name.canonical): value is not UTF-8")
            }
            headers.append(validated: SIPHeaderField(name: name, validatedValue: value))
        }
        return headers
    }

    /// Finds the CRLF ending the line that starts at `from`; a bare CR or LF is an error.
    private static func lineEnd(_ bytes: UnsafeBufferPointer<UInt8>, from: Int, limit: Int) throws(SIPParseError) -> (end: Int, nonASCII: Bool) {
        var index = from
        var nonASCII = false
        while index < limit {
            let byte = bytes[index]
            if byte == SIPBytes.cr {
                guard index + 1 < limit, bytes[index + 1] == SIPBytes.lf else {
                    throw SIPParseError(.malformedHeaderSection, "bare CR in header section")
                }
                return (index, nonASCII)
            }
            if byte == SIPBytes.lf { throw SIPParseError(.malformedHeaderSection, "bare LF in header section") }
            if byte >= 0x80 { nonASCII = true }
            index += 1
        }
        throw SIPParseError(.malformedHeaderSection, "unterminated line")
    }

    /// Parses a request line or status line. The second value tells whether the line looks
    /// like a request (a method token first), which decides whether a failure is answered.
    static func parseStartLine(_ line: UnsafeBufferPointer<UInt8>, nonASCII: Bool) -> (Result<SIPMessage.StartLine, SIPParseError>, Bool) {
        func malformed(_ detail: String, response: Bool = false) -> Result<SIPMessage.StartLine, SIPParseError> {
            .failure(SIPParseError(.malformedStartLine, detail, concernsResponse: response))
        }
        if line.count >= 4, SIPBytes.lowercased(line[0]) == UInt8(ascii: "s"), SIPBytes.lowercased(line[1]) == UInt8(ascii: "i"),
           SIPBytes.lowercased(line[2]) == UInt8(ascii: "p"), line[3] == SIPBytes.slash {
            return (parseStatusLine(line, nonASCII: nonASCII), false)
        }
        var firstSpace = 0
        while firstSpace < line.count, SIPBytes.isMember(line[firstSpace], .token) { firstSpace += 1 }
        guard firstSpace > 0, firstSpace < line.count, line[firstSpace] == SIPBytes.space else {
            return (malformed("invalid method"), false)
        }
        guard let lastSpace = line.lastIndex(of: SIPBytes.space), lastSpace > firstSpace + 1 else {
            return (malformed("request line needs Method SP Request-URI SP SIP-Version"), true)
        }
        let uriRange = (firstSpace + 1)..<lastSpace
        guard !line[uriRange].contains(where: { $0 == SIPBytes.space || $0 == SIPBytes.tab || $0 >= 0x80 }) else {
            return (malformed("whitespace in Request-URI or between request line elements"), true)
        }
        switch checkVersion(UnsafeBufferPointer(rebasing: line[(lastSpace + 1)...])) {
        case .ok: break
        case .unsupported:
            return (.failure(SIPParseError(.unsupportedVersion, "unsupported SIP version")), true)
        case .malformed:
            return (malformed("invalid SIP version"), true)
        }
        guard let method = SIPMethod(rawValue: String(decoding: UnsafeBufferPointer(rebasing: line[0..<firstSpace]), as: UTF8.self)) else {
            return (malformed("invalid method"), false)
        }
        do throws(SIPParseError) {
            let uri = try SIPAnyURI.parse(UnsafeBufferPointer(rebasing: line[uriRange]))
            return (.success(.request(SIPRequestLine(method: method, uri: uri))), true)
        } catch {
            return (malformed("invalid Request-URI: \(error.detail)"), true)
        }
    }

    private static func parseStatusLine(_ line: UnsafeBufferPointer<UInt8>, nonASCII: Bool) -> Result<SIPMessage.StartLine, SIPParseError> {
        guard let firstSpace = line.firstIndex(of: SIPBytes.space) else {
            return .failure(SIPParseError(.malformedStartLine, "status line without status code", concernsResponse: true))
        }
        switch checkVersion(UnsafeBufferPointer(rebasing: line[0..<firstSpace])) {
        case .ok: break
        case .unsupported:
            return .failure(SIPParseError(.unsupportedVersion, "unsupported SIP version", concernsResponse: true))
        case .malformed:
            return .failure(SIPParseError(.malformedStartLine, "invalid SIP version", concernsResponse: true))
        }
        let codeStart = firstSpace + 1
        let codeEnd = codeStart + 3
        guard codeEnd <= line.count,
              let code = SIPGrammar.decimal(UnsafeBufferPointer(rebasing: line[codeStart..<codeEnd]), limit: 699),
              code >= 100,
              codeEnd == line.count || line[codeEnd] == SIPBytes.space
        else {
            return .failure(SIPParseError(.malformedStartLine, "status code is not three digits in 100...699", concernsResponse: true))
        }
        let reasonBytes = codeEnd < line.count ? UnsafeBufferPointer(rebasing: line[(codeEnd + 1)...]) : UnsafeBufferPointer(rebasing: line[codeEnd...])
        guard !reasonBytes.contains(where: { $0 < 0x20 && $0 != SIPBytes.tab || $0 == 0x7F }),
              let reason = nonASCII ? String(validating: reasonBytes, as: UTF8.self) : String(decoding: reasonBytes, as: UTF8.self)
        else {
            return .failure(SIPParseError(.malformedStartLine, "invalid reason phrase", concernsResponse: true))
        }
        return .success(.response(SIPStatusLine(statusCode: code, reasonPhrase: reason)))
    }

    private enum VersionCheck { case ok, unsupported, malformed }

    /// `SIP-Version = "SIP" "/" 1*DIGIT "." 1*DIGIT` ("SIP" in any case).
    private static func checkVersion(_ bytes: UnsafeBufferPointer<UInt8>) -> VersionCheck {
        guard bytes.count >= 7, SIPBytes.lowercased(bytes[0]) == UInt8(ascii: "s"),
              SIPBytes.lowercased(bytes[1]) == UInt8(ascii: "i"), SIPBytes.lowercased(bytes[2]) == UInt8(ascii: "p"),
              bytes[3] == SIPBytes.slash,
              let dot = bytes[4...].firstIndex(of: SIPBytes.dot), dot > 4, dot < bytes.count - 1,
              bytes[4..<dot].allSatisfy({ SIPBytes.isMember($0, .digit) }),
              bytes[(dot + 1)...].allSatisfy({ SIPBytes.isMember($0, .digit) })
        else { return .malformed }
        return bytes.count == 7 && bytes[4] == UInt8(ascii: "2") && bytes[6] == UInt8(ascii: "0") ? .ok : .unsupported
    }

    /// The `Content-Length` value, nil when absent. More than one field, or a value that is
    /// not a non-negative decimal number, is an error.
    static func contentLength(_ headers: SIPHeaders) throws(SIPParseError) -> Int? {
        var result: Int?
        for field in headers.fields where field.name == .contentLength {
            guard result == nil else {
                throw SIPParseError(.invalidContentLength, "Content-Length appears more than once")
            }
            guard let value = SIPScalar.parse(field.value, limit: Int(Int32.max)) else {
                throw SIPParseError(.invalidContentLength, "Content-Length is not a non-negative number")
            }
            result = value
        }
        return result
    }

    /// The body as a buffer of its own. A slice would keep the whole receive buffer alive (64 KiB
    /// for a UDP read, the stream's cumulation buffer) for as long as the message lives, which a
    /// transaction keeps for up to 32 s, and would stop NIO from re-using its receive buffers.
    static func ownedBody(of buffer: ByteBuffer, at index: Int, length: Int) -> ByteBuffer {
        guard length > 0, let bytes = buffer.viewBytes(at: index, length: length) else { return ByteBuffer() }
        var body = ByteBufferAllocator().buffer(capacity: length)
        body.writeBytes(bytes)
        return body
    }

    /// Attaches the body and validates the message.
    static func assemble(_ head: Head, body: ByteBuffer) throws(SIPParseError) -> SIPMessage {
        let startLine: SIPMessage.StartLine
        switch head.startLine {
        case .success(let line): startLine = line
        case .failure(let error): throw head.failure(error)
        }
        var message = SIPMessage(startLine: startLine, headers: head.headers, body: body)
        do throws(SIPParseError) {
            message.parsed = try SIPMessageValidator.validate(message)
        } catch {
            throw head.failure(error)
        }
        return message
    }
}
