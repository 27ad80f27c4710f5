import NIOCore
import Testing
@testable import SIP

@Suite("Multipart bodies")
struct MultipartTests {
    static let body = "preamble\r\n--b1\r\nContent-Type: application/sdp\r\n\r\nv=0\r\n\r\n--b1 \r\n\r\nno headers\r\n"
        + "--b1\r\nContent-Type: application/isup\r\nContent-Disposition: signal;handling=optional\r\n\r\n\u{1}\u{2}--b1x\r\n--b1--\r\nepilogue"

    @Test func splitsParts() throws {
        let parts = try SIPMultipart.split(ByteBuffer(string: Self.body), boundary: "b1")
        #expect(parts.count == 3)
        #expect(parts[0].contentType == .sdp)
        #expect(String(buffer: parts[0].body) == "v=0\r\n")
        #expect(parts[1].headers.isEmpty)
        #expect(String(buffer: parts[1].body) == "no headers")
        #expect(parts[2].headers[.contentDisposition] == "signal;handling=optional")
        #expect(String(buffer: parts[2].body) == "\u{1}\u{2}--b1x")
    }

    @Test func messageHelperUsesContentTypeBoundary() throws {
        let headers: SIPHeaders = [(.contentType, "multipart/mixed;boundary=\"b1\"")]
        let message = SIPMessage.request(method: .invite, uri: .sip(SIPURI(host: "h")), headers: headers, body: ByteBuffer(string: Self.body))
        #expect(try message.multipartParts()?.count == 3)
        let plain = SIPMessage.request(method: .invite, uri: .sip(SIPURI(host: "h")), headers: [(.contentType, "application/sdp")])
        #expect(try plain.multipartParts() == nil)
    }

    @Test(arguments: [
        "no delimiter at all",
        "--b1\r\nContent-Type: text/plain\r\n\r\nunterminated",
        "--b1\r\n\r\nx\r\n--b1",
        "--b1 trailing\r\n\r\nx\r\n--b1--",
        "--b1\r\nContent-Type: text/plain\r\nno blank line\r\n--b1--",
    ])
    func rejectsMalformedBodies(body: String) {
        #expect { try SIPMultipart.split(ByteBuffer(string: body), boundary: "b1") } throws: {
            ($0 as? SIPParseError)?.code == .malformedMultipart
        }
    }
}
