public import NIOCore

/// One body part of a multipart body: its MIME header fields and content.
public struct SIPMultipartPart: Sendable, Hashable {
    public var headers: SIPHeaders
    public var body: ByteBuffer

    public init(headers: SIPHeaders = [], body: ByteBuffer) {
        self.headers = headers
        self.body = body
    }

    public var contentType: SIPContentType? {
        headers[.contentType].flatMap { try? SIPContentType(parsing: $0) }
    }
}

/// Splits `multipart/*` bodies (RFC 2046 §5.1), e.g. SDP next to an ISUP or PIDF part.
public enum SIPMultipart {
    /// The parts between the delimiters of `boundary`. The preamble and epilogue are
    /// discarded; the close delimiter is required.
    public static func split(_ body: ByteBuffer, boundary: String) throws(SIPParseError) -> [SIPMultipartPart] {
        guard !boundary.isEmpty, boundary.utf8.count <= 70 else {
            throw SIPParseError(.malformedMultipart, "invalid boundary")
        }
        let delimiter = Array(("--" + boundary).utf8)
        let ranges: Result<[(Range<Int>, Range<Int>, SIPHeaders)], SIPParseError> = body.withUnsafeReadableBytes { raw in
            let bytes = raw.assumingMemoryBound(to: UInt8.self)
            return Result { () throws(SIPParseError) in try partRanges(bytes, delimiter: delimiter) }
        }
        return try ranges.get().map { _, content, headers in
            SIPMultipartPart(
                headers: headers,
                body: body.getSlice(at: body.readerIndex + content.lowerBound, length: content.count) ?? ByteBuffer()
            )
        }
    }

    private static func partRanges(_ bytes: UnsafeBufferPointer<UInt8>, delimiter: [UInt8]) throws(SIPParseError) -> [(Range<Int>, Range<Int>, SIPHeaders)] {
        func malformed(_ detail: String) -> SIPParseError { SIPParseError(.malformedMultipart, detail) }

        // The first delimiter is at the start of the body or after a CRLF.
        guard var delimiterStart = find(delimiter, in: bytes, from: 0, atLineStart: true) else {
            throw malformed("no boundary delimiter")
        }
        var parts: [(Range<Int>, Range<Int>, SIPHeaders)] = []
        while true {
            var cursor = delimiterStart + delimiter.count
            if cursor + 1 < bytes.count, bytes[cursor] == SIPBytes.dash, bytes[cursor + 1] == SIPBytes.dash {
                return parts
            }
            while cursor < bytes.count, SIPBytes.isWhitespace(bytes[cursor]) { cursor += 1 }
            guard cursor + 1 < bytes.count, bytes[cursor] == SIPBytes.cr, bytes[cursor + 1] == SIPBytes.lf else {
                throw malformed("boundary delimiter line is not terminated")
            }
            let partStart = cursor + 2
            guard let next = find(delimiter, in: bytes, from: partStart, atLineStart: true) else {
                throw malformed("missing close delimiter")
            }
            // The CRLF before the next delimiter belongs to the delimiter.
            let partEnd = next - 2
            guard partEnd >= partStart else { throw malformed("empty body part") }
            let headers: SIPHeaders
            let contentStart: Int
            if bytes[partStart] == SIPBytes.cr, partStart + 1 < partEnd, bytes[partStart + 1] == SIPBytes.lf {
                headers = SIPHeaders()
                contentStart = partStart + 2
            } else if let blank = SIPWireParser.findBlankLine(UnsafeBufferPointer(rebasing: bytes[0..<(partEnd + 2)]), from: partStart) {
                headers = try SIPWireParser.parseFields(bytes, start: partStart, linesEnd: blank + 2)
                contentStart = min(blank + 4, partEnd)
            } else {
                throw malformed("body part header section is not terminated")
            }
            parts.append((partStart..<partEnd, contentStart..<partEnd, headers))
            delimiterStart = next
        }
    }

    private static func find(_ pattern: [UInt8], in bytes: UnsafeBufferPointer<UInt8>, from: Int, atLineStart: Bool) -> Int? {
        guard let first = pattern.first, bytes.count >= pattern.count else { return nil }
        var index = from
        let last = bytes.count - pattern.count
        while index <= last {
            if bytes[index] == first,
               (!atLineStart || index == 0 || (index >= 2 && bytes[index - 2] == SIPBytes.cr && bytes[index - 1] == SIPBytes.lf)),
               pattern.indices.allSatisfy({ bytes[index + $0] == pattern[$0] }) {
                return index
            }
            index += 1
        }
        return nil
    }
}

extension SIPMessage {
    /// The body parts when the body is `multipart/*` with a boundary; nil otherwise.
    public func multipartParts() throws(SIPParseError) -> [SIPMultipartPart]? {
        guard let type = try contentType, type.type.lowercased() == "multipart", let boundary = type.boundary else {
            return nil
        }
        return try SIPMultipart.split(body, boundary: boundary)
    }
}
