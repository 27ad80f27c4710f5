import Foundation
import NIOCore
import Testing
@testable import SIP

@Suite("SIPMessage parsing and serialization")
struct SIPMessageTests {
    static let invite = """
        INVITE sip:bob@biloxi.example.com SIP/2.0\r
        Via: SIP/2.0/WSS df7jal23ls0d.invalid;branch=z9hG4bK776asdhds;rport\r
        Via: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bKnashds8;received=192.0.2.11\r
        Max-Forwards: 70\r
        To: Bob <sip:bob@biloxi.example.com>\r
        From: "Alice" <sip:alice@atlanta.example.com>;tag=1928301774\r
        Call-ID: a84b4c76e66710@pc33.atlanta.example.com\r
        CSeq: 314159 INVITE\r
        Contact: <sip:alice@df7jal23ls0d.invalid;transport=ws;ob>\r
        Route: <sip:p1.example.com;lr>, <sip:p2.example.com;lr>\r
        Record-Route: <sip:rr.example.com;lr>\r
        Supported: timer, 100rel\r
        Require: timer\r
        Expires: 120\r
        Content-Type: application/sdp\r
        Content-Length: 4\r
        \r
        v=0\n
        """

    static func parse(_ text: String) throws(SIPParseError) -> SIPMessage {
        try SIPMessage.parse(datagram: Array(text.utf8))
    }

    static func failure(_ text: String) -> SIPParseError? {
        do throws(SIPParseError) {
            _ = try parse(text)
            return nil
        } catch {
            return error
        }
    }

    @Test func parsesTheFieldsTheB2BUANeeds() throws {
        let message = try Self.parse(Self.invite)
        #expect(message.method == .invite)
        #expect(message.requestURI?.sipURI?.host == "biloxi.example.com")
        let vias = try message.vias
        #expect(vias.count == 2)
        #expect(vias[0].transport == "WSS")
        #expect(vias[0].rport == .requested)
        #expect(vias[1].port == 5060)
        #expect(vias[1].received == "192.0.2.11")
        #expect(try message.to.displayName == "Bob")
        #expect(try message.to.tag == nil)
        #expect(try message.from.tag == "1928301774")
        #expect(message.callID == "a84b4c76e66710@pc33.atlanta.example.com")
        #expect(try message.cseq == SIPCSeq(sequence: 314_159, method: .invite))
        #expect(try message.maxForwards == 70)
        #expect(try message.contacts?.addresses.first?.sipURI?.parameters.contains("ob") == true)
        #expect(try message.routes.compactMap(\.sipURI?.host) == ["p1.example.com", "p2.example.com"])
        #expect(try message.recordRoutes.count == 1)
        #expect(try message.supported == ["timer", "100rel"])
        #expect(try message.require == ["timer"])
        #expect(try message.unsupportedRequire(supported: ["TIMER"]).isEmpty)
        #expect(try message.expires == 120)
        #expect(try message.contentType == .sdp)
        #expect(try message.contentLength == 4)
        #expect(String(decoding: message.body.readableBytesView, as: UTF8.self) == "v=0\n")
    }

    /// The parser keeps what it validated; the accessors answer from it until the headers
    /// change, and the kept fields are not part of the message's value.
    @Test func keptFieldsFollowTheHeaders() throws {
        var message = try Self.parse(Self.invite)
        #expect(message.parsed != nil)
        var rebuilt = SIPMessage(startLine: message.startLine, headers: message.headers, body: message.body)
        #expect(rebuilt.parsed == nil)
        #expect(rebuilt == message)
        #expect(rebuilt.hashValue == message.hashValue)
        #expect(try message.from == rebuilt.from)
        #expect(try message.to == rebuilt.to)
        #expect(try message.topVia == rebuilt.topVia)
        #expect(try message.cseq == rebuilt.cseq)

        message.headers.replace(.from, with: "<sip:mallory@evil.example>;tag=zz")
        message.headers.replace(.to, with: "<sip:bob@biloxi.example.com>;tag=t2")
        message.headers.replace(.cseq, with: "7 INVITE")
        message.headers.remove(.via)
        message.headers.add(.via, "SIP/2.0/TCP 198.51.100.1:5070;branch=z9hG4bKnew")
        #expect(message.parsed == nil)
        #expect(try message.from.tag == "zz")
        #expect(try message.to.tag == "t2")
        #expect(try message.cseq.sequence == 7)
        #expect(try message.topVia?.branch == "z9hG4bKnew")

        // A copy keeps the fields only while its own headers are untouched.
        let parsed = try Self.parse(Self.invite)
        var copy = parsed
        copy.headers.add(.subject, "x")
        #expect(parsed.parsed != nil && copy.parsed == nil)
        rebuilt.body = ByteBuffer(string: "v=1")
        #expect(rebuilt != parsed)
    }

    @Test func unfoldsCompactFormsAndSkipsLeadingCRLF() throws {
        let text = "\r\n\r\nOPTIONS sip:a@example.com SIP/2.0\r\n"
            + "v: SIP/2.0/UDP h.example.com\r\n ;branch=z9hG4bK1\r\n"
            + "t: <sip:a@example.com>\r\nf: <sip:b@example.com>\r\n\t;tag=9\r\n"
            + "i: x@y\r\nCSeq: 1\r\n   OPTIONS\r\nk: \r\nl: 0\r\n\r\n"
        let message = try Self.parse(text)
        #expect(message.headers.map(\.name) == [.via, .to, .from, .callID, .cseq, .supported, .contentLength])
        #expect(message.headers[.via] == "SIP/2.0/UDP h.example.com ;branch=z9hG4bK1")
        #expect(try message.from.tag == "9")
        #expect(try message.cseq.method == .options)
        #expect(try message.supported == [])
        #expect(message.serialized().readableBytesView.starts(with: Array("OPTIONS sip:a@example.com SIP/2.0\r\nVia: ".utf8)))
    }

    @Test func contactWildcard() throws {
        let text = "REGISTER sip:example.com SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\nTo: <sip:a@example.com>\r\n"
            + "From: <sip:a@example.com>;tag=1\r\nCall-ID: c\r\nCSeq: 2 REGISTER\r\nContact: *\r\nExpires: 0\r\nContent-Length: 0\r\n\r\n"
        #expect(try Self.parse(text).contacts == .wildcard)
        let mixed = text.replacingOccurrences(of: "Contact: *", with: "Contact: *, <sip:a@h>")
        #expect(Self.failure(mixed)?.code == .malformedHeader(.contact))
    }

    @Test func serializesCanonically() throws {
        var message = try Self.parse(Self.invite.replacingOccurrences(of: "Content-Length: 4", with: "l: 0004"))
        message.body = ByteBuffer(string: "v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\n")
        let text = message.description
        #expect(text.hasPrefix("INVITE sip:bob@biloxi.example.com SIP/2.0\r\nVia: SIP/2.0/WSS"))
        #expect(text.contains("\r\nContent-Length: 31\r\n\r\nv=0"))
        #expect(!text.contains("l: 0004"))
        #expect(text.components(separatedBy: "Content-Length").count == 2)
        let reparsed = try SIPMessage.parse(datagram: message.serialized())
        #expect(reparsed == message.withContentLength(31))
    }

    @Test func serializerAddsMissingContentLength() throws {
        let message = SIPMessage.request(
            method: .options,
            uri: .sip(SIPURI(user: "a", host: "example.com")),
            headers: [(.via, "SIP/2.0/TCP h;branch=z9hG4bK1"), (.to, "<sip:a@example.com>"), (.from, "<sip:b@example.com>;tag=1"),
                      (.callID, "c1"), (.cseq, "1 OPTIONS"), (.maxForwards, "70")]
        )
        let text = message.description
        #expect(text.hasSuffix("Max-Forwards: 70\r\nContent-Length: 0\r\n\r\n"))
        let reparsed = try SIPMessage.parse(datagram: message.serialized())
        #expect(reparsed.headers.filter { $0.name != .contentLength } == Array(message.headers))
    }

    @Test func roundTripsThroughTheWire() throws {
        let first = try Self.parse(Self.invite)
        let second = try SIPMessage.parse(datagram: first.serialized())
        #expect(second == first)
        #expect(second.serialized() == first.serialized())
    }

    @Test func buildsResponses() throws {
        let request = try Self.parse(Self.invite)
        let response = SIPMessage.response(to: request, statusCode: 180, toTag: "as83kd9bs")
        #expect(response.statusCode == 180)
        #expect(response.reasonPhrase == "Ringing")
        #expect(response.headers.map(\.name) == [.via, .via, .from, .to, .callID, .cseq])
        #expect(try response.to.tag == "as83kd9bs")
        #expect(try response.vias == request.vias)
        let wire = try SIPMessage.parse(datagram: response.serialized())
        #expect(wire.statusCode == 180)
        #expect(try wire.cseq.method == .invite)
    }

    @Test(arguments: [
        ("INVITE sip:a@b SIP/2.0\r\nVia: SIP/2.0/UDP h\r\nCSeq: 1 INVITE\r\n\r\n", SIPParseError.Code.missingHeader(.to), true),
        ("INVITE sip:a@b SIP/2.0\r\nTo: <sip:a@b>\r\nFrom: <sip:a@b>\r\nCall-ID: c\r\nCSeq: 1 INVITE\r\n\r\n", .missingHeader(.via), false),
        ("INVITE sip:a@b SIP/2.0\r\nVia: SIP/2.0/UDP h\r\nTo: <sip:a@b>\r\nFrom: <sip:a@b>\r\nCall-ID: c c\r\nCSeq: 1 INVITE\r\n\r\n", .malformedHeader(.callID), true),
        ("INVITE sip:a@b SIP/2.0\r\nVia: SIP/2.0/UDP h\r\nTo: <sip:a@b>\r\nFrom: <sip:a@b>\r\nCall-ID: c\r\nCSeq: 1 INVITE\r\nMax-Forwards: 256\r\n\r\n", .malformedHeader(.maxForwards), true),
        ("INVITE sip:a@b SIP/2.0\r\nVia: SIP/2.0/UDP h\r\nTo: <sip:a@b>\r\nFrom: <sip:a@b>\r\nCall-ID: c\r\nCSeq: 1 INVITE\r\nRoute: sip:p,\r\n\r\n", .malformedHeader(.route), true),
        ("INVITE sip:a@b SIP/2.0\r\nVia: SIP/2.0/UDP h\r\nTo: <sip:a@b>\r\nFrom: <sip:a@b>\r\nCall-ID: c\r\nCSeq: 1 INVITE\r\nContent-Length: 10\r\n\r\nshort", .truncatedBody, true),
        ("INVITE sip:a@b SIP/2.0\r\nVia: SIP/2.0/UDP h\r\nTo: <sip:a@b>\r\nFrom: <sip:a@b>\r\nCall-ID: c\r\nCSeq: 1 INVITE\r\nContent-Length: 1x\r\n\r\n", .invalidContentLength, true),
        ("INVITE sip:a@b SIP/2.0\r\nVia: SIP/2.0/UDP h\r\nTo: <sip:a@b>\r\nFrom: <sip:a@b>\r\nCall-ID: c\r\nCSeq: 1 INVITE\r\nContent-Type: a/b\r\nc: a/b\r\n\r\n", .duplicateHeader(.contentType), true),
        ("INVITE sip:a@b SIP/2.0\r\nVia: SIP/2.0/UDP h\r\nBad Header: x\r\n\r\n", .malformedHeaderSection, false),
        ("INVITE sip:a@b SIP/2.0\r\n continued\r\n\r\n", .malformedHeaderSection, false),
        ("INVITE sip:a@b SIP/2.0\r\nVia: SIP/2.0/UDP h\nCSeq: 1 INVITE\r\n\r\n", .malformedHeaderSection, false),
        ("INVITE sip:a@b SIP/2.0\r\nVia: SIP/2.0/UDP h\rCSeq: 1 INVITE\r\n\r\n", .malformedHeaderSection, false),
        ("INVITE sip:a@b SIP/2.0\r\nVia: SIP/2.0/UDP h", .malformedHeaderSection, false),
        ("invite sip:a@b SIP/2.0\r\nVia: SIP/2.0/UDP h\r\nTo: <sip:a@b>\r\nFrom: <sip:a@b>\r\nCall-ID: c\r\nCSeq: 1 INVITE\r\n\r\n", .cseqMethodMismatch, true),
        ("INVITE sip:a@b SIP/2.1\r\nVia: SIP/2.0/UDP h\r\nCSeq: 1 INVITE\r\n\r\n", .unsupportedVersion, true),
        ("INVITE sip:a@b HTTP/1.1\r\nVia: SIP/2.0/UDP h\r\nCSeq: 1 INVITE\r\n\r\n", .malformedStartLine, true),
        ("SIP/2.0 99 Low\r\nVia: SIP/2.0/UDP h\r\nCSeq: 1 INVITE\r\n\r\n", .malformedStartLine, false),
        ("SIP/3.0 200 OK\r\nVia: SIP/2.0/UDP h\r\nCSeq: 1 INVITE\r\n\r\n", .unsupportedVersion, false),
        ("\r\n\r\n", .malformedHeaderSection, false),
    ])
    func rejectsWithTypedErrors(text: String, code: SIPParseError.Code, answerable: Bool) {
        let error = Self.failure(text)
        #expect(error?.code == code)
        #expect(error?.isAnswerable == answerable)
    }

    @Test func invalidUTF8InAValueIsRejected() {
        var bytes = Array("OPTIONS sip:a@b SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\nCSeq: 1 OPTIONS\r\nSubject: ".utf8)
        bytes += [0xC3, 0x28]
        bytes += Array("\r\n\r\n".utf8)
        #expect { try SIPMessage.parse(datagram: bytes) } throws: { ($0 as? SIPParseError)?.code == .malformedHeader(.subject) }
    }

    @Test func errorResponsesCopyTheEssentialHeaders() throws {
        let text = Self.invite.replacingOccurrences(of: "CSeq: 314159 INVITE", with: "CSeq: 314159 BYE")
        let error = try #require(Self.failure(text))
        #expect(error.responseStatus == 400)
        let response = try #require(error.makeResponse())
        #expect(response.statusCode == 400)
        #expect(response.reasonPhrase == "Bad Request")
        #expect(response.headers.map(\.name) == [.via, .via, .to, .from, .callID, .cseq])
        #expect(response.description.hasPrefix("SIP/2.0 400 Bad Request\r\n"))
    }
}

extension SIPMessage {
    /// The message as the serializer writes it: one Content-Length holding `length`.
    func withContentLength(_ length: Int) -> SIPMessage {
        var copy = self
        copy.headers.replace(.contentLength, with: String(length))
        return copy
    }
}
