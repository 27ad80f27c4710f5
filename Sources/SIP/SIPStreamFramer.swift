public import NIOCore

/// Cuts a TCP or TLS byte stream into SIP messages (RFC 3261 §18.3) and keep-alives
/// (RFC 5626 §4.4.1).
///
/// - The header section ends at the first empty line; the body is `Content-Length` octets,
///   which every message on a stream must carry.
/// - A message whose header section, or header section plus announced body, exceeds
///   ``maximumMessageSize`` is a fatal error: the framer throws and the connection closes.
///   A structurally broken header section is fatal too, since the stream can no longer be
///   cut reliably.
/// - A message that frames but does not validate (bad Request-URI, missing `From`, ...) is
///   delivered as ``Frame/invalidMessage(_:)`` so the transport can answer it and keep reading.
/// - As a server, CRLF CRLF is a keep-alive ping (answer it with CRLF); any other CRLF between
///   messages is skipped. As a client, each CRLF between messages is a pong.
public struct SIPStreamFramer: ByteToMessageDecoder {
    public enum Frame: Sendable, Hashable {
        case message(SIPMessage)
        case invalidMessage(SIPParseError)
        /// CRLFCRLF received by a server; answer with a single CRLF.
        case keepAlivePing
        /// CRLF received by a client between messages.
        case keepAlivePong
    }

    /// Which side of the RFC 5626 keep-alive exchange this end of the connection plays.
    public enum KeepAliveRole: Sendable, Hashable {
        /// Receives pings (the end that accepted the connection).
        case server
        /// Receives pongs (the end that opened the connection).
        case client
    }

    public typealias InboundOut = Frame

    public static let defaultMaximumMessageSize = 65_536

    public let maximumMessageSize: Int
    public let keepAliveRole: KeepAliveRole

    /// How much of the readable bytes has been searched for the end of the header section.
    private var scanned = 0
    /// The parsed header section of the message whose body is awaited.
    private var pending: (head: SIPWireParser.Head, headLength: Int, bodyLength: Int)?

    public init(maximumMessageSize: Int = SIPStreamFramer.defaultMaximumMessageSize, keepAliveRole: KeepAliveRole = .server) {
        self.maximumMessageSize = max(64, maximumMessageSize)
        self.keepAliveRole = keepAliveRole
    }

    public mutating func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        guard let frame = try nextFrame(from: &buffer) else { return .needMoreData }
        context.fireChannelRead(Self.wrapInboundOut(frame))
        return .continue
    }

    public mutating func decodeLast(context: ChannelHandlerContext, buffer: inout ByteBuffer, seenEOF: Bool) throws -> DecodingState {
        try decode(context: context, buffer: &buffer)
    }

    /// Takes the next complete frame off the front of `buffer`, or returns nil when more bytes
    /// are needed. Usable without a channel.
    public mutating func nextFrame(from buffer: inout ByteBuffer) throws(SIPParseError) -> Frame? {
        if pending == nil {
            while pending == nil {
                switch keepAlive(in: buffer) {
                case .needMoreData:
                    return nil
                case .ping:
                    buffer.moveReaderIndex(forwardBy: 4)
                    return .keepAlivePing
                case .pong:
                    buffer.moveReaderIndex(forwardBy: 2)
                    return .keepAlivePong
                case .skip:
                    buffer.moveReaderIndex(forwardBy: 2)
                    scanned = 0
                case .garbage:
                    throw SIPParseError(.malformedHeaderSection, "stream does not start with a SIP message")
                case .none:
                    guard try readHead(from: buffer) else { return nil }
                }
            }
        }
        guard let current = pending else { return nil }
        let total = current.headLength + current.bodyLength
        guard buffer.readableBytes >= total else { return nil }
        let body = SIPWireParser.ownedBody(of: buffer, at: buffer.readerIndex + current.headLength, length: current.bodyLength)
        buffer.moveReaderIndex(forwardBy: total)
        pending = nil
        scanned = 0
        do throws(SIPParseError) {
            return .message(try SIPWireParser.assemble(current.head, body: body))
        } catch {
            return .invalidMessage(error)
        }
    }

    private enum KeepAlive { case needMoreData, ping, pong, skip, garbage, none }

    private func keepAlive(in buffer: ByteBuffer) -> KeepAlive {
        let view = buffer.readableBytesView
        guard let first = view.first else { return .needMoreData }
        // A message starts with a method token or "SIP/"; anything else is not SIP.
        guard first == SIPBytes.cr else { return SIPBytes.isMember(first, .token) ? .none : .garbage }
        var index = view.startIndex
        func byte(_ offset: Int) -> UInt8? {
            index = view.startIndex + offset
            return index < view.endIndex ? view[index] : nil
        }
        guard let second = byte(1) else { return .needMoreData }
        guard second == SIPBytes.lf else { return .garbage }
        switch keepAliveRole {
        case .client:
            return .pong
        case .server:
            guard let third = byte(2) else { return .needMoreData }
            guard third == SIPBytes.cr else { return .skip }
            guard let fourth = byte(3) else { return .needMoreData }
            return fourth == SIPBytes.lf ? .ping : .skip
        }
    }

    /// Looks for the end of the header section; on success parses it into `pending`.
    private mutating func readHead(from buffer: ByteBuffer) throws(SIPParseError) -> Bool {
        let limit = maximumMessageSize
        let from = max(0, scanned - 3)
        let found: Result<(SIPWireParser.Head, Int)?, SIPParseError> = buffer.withUnsafeReadableBytes { raw in
            let bytes = raw.assumingMemoryBound(to: UInt8.self)
            return Result { () throws(SIPParseError) -> (SIPWireParser.Head, Int)? in
                let window = UnsafeBufferPointer(rebasing: bytes[0..<min(bytes.count, limit)])
                guard let blank = SIPWireParser.findBlankLine(window, from: from) else { return nil }
                return (try SIPWireParser.parseHead(bytes, start: 0, linesEnd: blank + 2), blank + 4)
            }
        }
        guard let (head, headLength) = try found.get() else {
            scanned = buffer.readableBytes
            guard buffer.readableBytes < limit else {
                throw SIPParseError(.headerSectionTooLarge, "header section exceeds \(limit) octets")
            }
            return false
        }
        let declared: Int?
        do throws(SIPParseError) {
            declared = try SIPWireParser.contentLength(head.headers)
        } catch {
            throw head.failure(error)
        }
        guard let bodyLength = declared else {
            throw head.failure(SIPParseError(.missingContentLength, "a message on a stream needs Content-Length"))
        }
        guard bodyLength <= limit - headLength else {
            throw head.failure(SIPParseError(.bodyTooLarge, "message of \(headLength + bodyLength) octets exceeds \(limit)"))
        }
        pending = (head, headLength, bodyLength)
        return true
    }
}
