import NIOCore
import SIP
import SIPFuzzSupport

/// libFuzzer entry point for `SIPStreamFramer.nextFrame(from:)`.
///
/// Input layout: one control byte, then 1...8 chunk-size bytes, then the stream.
/// - control bits 0-2: number of chunk-size bytes minus one;
/// - bit 3: the framer is the client end (keep-alive pongs) instead of the server end;
/// - bit 4: maximum message size 1024 instead of the default 65536;
/// - bit 5: discard read bytes after each chunk, as `ByteToMessageHandler` does.
/// The chunk sizes are used in turn; a size byte of 0 delivers the rest of the stream at once.
///
/// Properties: the framer never traps; cutting the stream into chunks gives the same frames
/// and the same final error as delivering it at once; every framed message round-trips
/// through the serializer and the datagram parser, and its serialized form frames back to the
/// same message.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let input = UnsafeBufferPointer(start: data, count: size)
    guard let control = input.first else { return 0 }
    let sizeCount = Int(control & 0x07) + 1
    let chunkSizes = Array(input.dropFirst().prefix(sizeCount))
    let stream = UnsafeBufferPointer(rebasing: input[min(size, 1 + sizeCount)...])
    let role: SIPStreamFramer.KeepAliveRole = control & 0x08 != 0 ? .client : .server
    let maximumMessageSize = control & 0x10 != 0 ? 1024 : SIPStreamFramer.defaultMaximumMessageSize
    let discardsReadBytes = control & 0x20 != 0

    let whole = FramerRun(role: role, maximumMessageSize: maximumMessageSize)
    whole.feed(stream)

    let chunked = FramerRun(role: role, maximumMessageSize: maximumMessageSize)
    var offset = 0
    var turn = 0
    while offset < stream.count, chunked.error == nil {
        let wanted = chunkSizes.isEmpty ? 0 : Int(chunkSizes[turn % chunkSizes.count])
        let length = wanted == 0 ? stream.count - offset : min(wanted, stream.count - offset)
        chunked.feed(UnsafeBufferPointer(rebasing: stream[offset..<(offset + length)]), discardingReadBytes: discardsReadBytes)
        offset += length
        turn += 1
    }

    guard chunked.frames == whole.frames, chunked.error == whole.error else {
        propertyFailure(
            "framing depends on how the stream is cut into chunks (sizes \(chunkSizes), discarding read bytes: \(discardsReadBytes))",
            "at once: \(whole.summary)\nchunked: \(chunked.summary)"
        )
    }

    for frame in whole.frames {
        guard case .message(let message) = frame else { continue }
        let wire = SIPRoundTrip.check(message, origin: "framed message")
        let again = FramerRun(role: role, maximumMessageSize: max(maximumMessageSize, wire.readableBytes))
        again.feed(wire.readableBytesView)
        let expected = SIPStreamFramer.Frame.message(SIPRoundTrip.expectedReparse(of: message))
        guard again.frames == [expected], again.error == nil, again.buffer.readableBytes == 0 else {
            propertyFailure(
                "the serialized form of a framed message does not frame back to the same message",
                "serialized: \(quoted(wire.readableBytesView))\nframed again: \(again.summary)"
            )
        }
    }
    return 0
}

/// One connection's framer and receive buffer, fed in pieces; stops at the first error, as the
/// transport closes the connection then.
private final class FramerRun {
    var framer: SIPStreamFramer
    var buffer = ByteBuffer()
    var frames: [SIPStreamFramer.Frame] = []
    var error: SIPParseError?

    init(role: SIPStreamFramer.KeepAliveRole, maximumMessageSize: Int) {
        framer = SIPStreamFramer(maximumMessageSize: maximumMessageSize, keepAliveRole: role)
    }

    func feed(_ bytes: some Collection<UInt8>, discardingReadBytes: Bool = false) {
        guard error == nil else { return }
        buffer.writeBytes(bytes)
        do {
            while let frame = try framer.nextFrame(from: &buffer) {
                frames.append(frame)
            }
        } catch {
            self.error = error
        }
        if discardingReadBytes { buffer.discardReadBytes() }
    }

    var summary: String {
        let kinds = frames.map { frame -> String in
            switch frame {
            case .message(let message): return "message(\(message.serialized().readableBytes) bytes)"
            case .invalidMessage(let error): return "invalid(\(error.code))"
            case .keepAlivePing: return "ping"
            case .keepAlivePong: return "pong"
            }
        }
        return "\(kinds) error: \(error.map { String(describing: $0) } ?? "none")"
    }
}
