import Foundation
import NIOCore
import NIOTestUtils
import Testing
@testable import SIP

@Suite("SIPStreamFramer")
struct SIPStreamFramerTests {
    static func request(cseq: String = "1 OPTIONS", body: String = "") -> String {
        "OPTIONS sip:a@example.com SIP/2.0\r\nVia: SIP/2.0/TCP h.example.com;branch=z9hG4bK1\r\n"
            + "To: <sip:a@example.com>\r\nFrom: <sip:b@example.com>;tag=1\r\nCall-ID: c1\r\n"
            + "CSeq: \(cseq)\r\nContent-Length: \(body.utf8.count)\r\n\r\n\(body)"
    }

    static func datagram(_ text: String) throws(SIPParseError) -> SIPMessage {
        try SIPMessage.parse(datagram: Array(text.utf8))
    }

    static func frames(_ input: String, role: SIPStreamFramer.KeepAliveRole = .server, maximumMessageSize: Int = 65_536) throws -> [SIPStreamFramer.Frame] {
        var framer = SIPStreamFramer(maximumMessageSize: maximumMessageSize, keepAliveRole: role)
        var buffer = ByteBuffer(string: input)
        var result: [SIPStreamFramer.Frame] = []
        while let frame = try framer.nextFrame(from: &buffer) { result.append(frame) }
        return result
    }

    /// Whether `body`'s bytes lie inside `buffer`'s memory.
    static func shares(_ body: ByteBuffer, with buffer: ByteBuffer) -> Bool {
        buffer.withUnsafeReadableBytes { outer in
            body.withUnsafeReadableBytes { inner in
                guard let outerBase = outer.baseAddress, let innerBase = inner.baseAddress else { return false }
                return innerBase >= outerBase && innerBase < outerBase + outer.count
            }
        }
    }

    /// A parsed message keeps nothing of the buffer it was read from: a slice would pin a whole
    /// receive buffer (or the stream's cumulation buffer) for as long as a transaction keeps it.
    @Test func bodiesDoNotPinTheReceiveBuffer() throws {
        let text = Self.request(body: "v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\n")
        let datagram = ByteBuffer(string: text)
        let parsed = try SIPMessage.parse(datagram: datagram)
        #expect(String(buffer: parsed.body) == "v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\n")
        #expect(!Self.shares(parsed.body, with: datagram))

        var framer = SIPStreamFramer(maximumMessageSize: 65_536, keepAliveRole: .server)
        var stream = ByteBuffer(string: text + Self.request(cseq: "2 OPTIONS"))
        let original = stream
        guard case .message(let framed) = try framer.nextFrame(from: &stream) else {
            Issue.record("no message framed")
            return
        }
        #expect(String(buffer: framed.body) == "v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\n")
        #expect(!Self.shares(framed.body, with: original))
    }

    @Test func verifiesByteByByteInBulkAndSeveralPerBuffer() throws {
        let withBody = Self.request(body: "hello\r\n\r\nworld")
        let plain = Self.request(cseq: "2 OPTIONS")
        let invalid = Self.request(cseq: "3 INVITE")
        let invalidError = SIPParseError(.cseqMethodMismatch, "")
        var expectedInvalid: SIPParseError?
        do throws(SIPParseError) {
            _ = try Self.datagram(invalid)
        } catch {
            expectedInvalid = error
        }
        let invalidFrame = try #require(expectedInvalid)
        #expect(invalidFrame.code == invalidError.code)

        try ByteToMessageDecoderVerifier.verifyDecoder(
            stringInputOutputPairs: [
                (withBody, [.message(try Self.datagram(withBody))]),
                ("\r\n\r\n", [.keepAlivePing]),
                ("\r\n" + plain, [.message(try Self.datagram(plain))]),
                (invalid, [.invalidMessage(invalidFrame)]),
            ],
            decoderFactory: { SIPStreamFramer() }
        )
    }

    @Test func clientRoleSeesPongs() throws {
        let plain = Self.request()
        let frames = try Self.frames("\r\n" + plain + "\r\n\r\n", role: .client)
        #expect(frames == [.keepAlivePong, .message(try Self.datagram(plain)), .keepAlivePong, .keepAlivePong])
    }

    @Test func serverWaitsForAFullPing() throws {
        var framer = SIPStreamFramer()
        var buffer = ByteBuffer(string: "\r\n")
        #expect(try framer.nextFrame(from: &buffer) == nil)
        buffer.writeString("\r")
        #expect(try framer.nextFrame(from: &buffer) == nil)
        buffer.writeString("\n")
        #expect(try framer.nextFrame(from: &buffer) == .keepAlivePing)
        #expect(buffer.readableBytes == 0)
    }

    @Test func waitsForTheBody() throws {
        let text = Self.request(body: "0123456789")
        var framer = SIPStreamFramer()
        var buffer = ByteBuffer(string: String(text.dropLast(3)))
        #expect(try framer.nextFrame(from: &buffer) == nil)
        #expect(try framer.nextFrame(from: &buffer) == nil)
        buffer.writeString("789OPTIONS")
        let frame = try framer.nextFrame(from: &buffer)
        guard case .message(let message) = frame else {
            Issue.record("expected a message, got \(String(describing: frame))")
            return
        }
        #expect(String(buffer: message.body) == "0123456789")
        #expect(String(buffer: buffer) == "OPTIONS")
    }

    @Test func requiresContentLength() {
        let text = Self.request().replacingContentLength(with: nil)
        #expect { try Self.frames(text) } throws: {
            let error = $0 as? SIPParseError
            return error?.code == .missingContentLength && error?.isAnswerable == true
        }
    }

    @Test func rejectsOversizedHeaderSections() {
        let huge = "OPTIONS sip:a@example.com SIP/2.0\r\nX-Filler: " + String(repeating: "a", count: 2_000)
        #expect { try Self.frames(huge, maximumMessageSize: 1_024) } throws: {
            let error = $0 as? SIPParseError
            return error?.code == .headerSectionTooLarge && error?.responseStatus == 513 && error?.isAnswerable == false
        }
    }

    @Test func rejectsOversizedBodiesBeforeBuffering() {
        let text = Self.request().replacingContentLength(with: "1000000")
        #expect { try Self.frames(text, maximumMessageSize: 4_096) } throws: {
            let error = $0 as? SIPParseError
            return error?.code == .bodyTooLarge && error?.responseStatus == 413 && error?.makeResponse()?.statusCode == 413
        }
    }

    @Test func structuralErrorsAreFatal() {
        #expect { try Self.frames("OPTIONS sip:a@b SIP/2.0\r\nno colon here\r\n\r\n") } throws: {
            ($0 as? SIPParseError)?.code == .malformedHeaderSection
        }
        #expect { try Self.frames("\r\rOPTIONS") } throws: {
            ($0 as? SIPParseError)?.code == .malformedHeaderSection
        }
        // A TLS ClientHello on a plain TCP port is refused at once, not buffered.
        var framer = SIPStreamFramer()
        var buffer = ByteBuffer(bytes: [0x16, 0x03, 0x01, 0x02, 0x00])
        #expect(throws: SIPParseError.self) { try framer.nextFrame(from: &buffer) }
    }

    @Test func manyMessagesInOneBuffer() throws {
        let messages = (1...50).map { Self.request(cseq: "\($0) OPTIONS", body: String(repeating: "x", count: $0)) }
        let frames = try Self.frames(messages.joined(separator: "\r\n\r\n"))
        #expect(frames.count == 50 + 49)
        let cseqs = frames.compactMap { frame -> UInt32? in
            if case .message(let message) = frame { return try? message.cseq.sequence }
            return nil
        }
        #expect(cseqs == Array(1...50))
    }
}

extension String {
    func replacingContentLength(with value: String?) -> String {
        var lines = components(separatedBy: "\r\n")
        if let index = lines.firstIndex(where: { $0.hasPrefix("Content-Length") }) {
            if let value { lines[index] = "Content-Length: \(value)" } else { lines.remove(at: index) }
        }
        return lines.joined(separator: "\r\n")
    }
}
