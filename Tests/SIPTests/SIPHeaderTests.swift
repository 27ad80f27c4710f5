import Testing
@testable import SIP

@Suite("Header names, lists and typed values")
struct SIPHeaderTests {
    @Test("CR and LF in a field's value become spaces; a clean value is kept as it is")
    func valuesCannotInjectLines() throws {
        #expect(SIPHeaderField(name: .subject, value: "hello").value == "hello")
        #expect(SIPHeaderField(name: .subject, value: "a\r\nX-Injected: 1").value == "a  X-Injected: 1")
        #expect(SIPHeaderField(name: .subject, value: "\n").value == " ")
        let long = String(repeating: "abcdefgh", count: 40)
        #expect(SIPHeaderField(name: .subject, value: long).value == long)
        #expect(SIPHeaderField(name: .subject, value: long + "\r" + long).value == long + " " + long)
        let sliced = String(("xx" + long + "\nyy").dropFirst(2))
        #expect(SIPHeaderField(name: .subject, value: sliced).value == long + " yy")
    }

    @Test(arguments: [
        ("i", "Call-ID"), ("m", "Contact"), ("e", "Content-Encoding"), ("l", "Content-Length"),
        ("c", "Content-Type"), ("f", "From"), ("s", "Subject"), ("k", "Supported"), ("t", "To"),
        ("v", "Via"), ("o", "Event"), ("r", "Refer-To"), ("u", "Allow-Events"), ("x", "Session-Expires"),
        ("V", "Via"), ("cAlL-iD", "Call-ID"), ("CSEQ", "CSeq"), ("WWW-authenticate", "WWW-Authenticate"),
    ])
    func compactAndMixedCaseNamesMapToCanonical(spelling: String, canonical: String) {
        let name = SIPHeaderName(spelling)
        #expect(name.canonical == canonical)
        #expect(name == SIPHeaderName(canonical))
        #expect(name.isKnown)
    }

    @Test func unknownNamesKeepSpellingButCompareCaseInsensitively() {
        let name = SIPHeaderName("X-Switchboard-Call")
        #expect(name.canonical == "X-Switchboard-Call")
        #expect(name == SIPHeaderName("x-switchboard-CALL"))
        #expect(!name.isKnown)
    }

    @Test func headerCollectionOperations() throws {
        var headers: SIPHeaders = [(.via, "SIP/2.0/UDP a"), (.from, "<sip:a@b>;tag=1"), (.via, "SIP/2.0/UDP b")]
        #expect(headers[SIPHeaderName("v")] == "SIP/2.0/UDP a")
        #expect(headers.values(for: .via) == ["SIP/2.0/UDP a", "SIP/2.0/UDP b"])
        #expect(headers.count(of: .via) == 2)
        headers.replace(.via, with: "SIP/2.0/TCP c")
        #expect(headers.map(\.name) == [.via, .from])
        headers.insert(.route, "<sip:p;lr>", at: 0)
        headers.remove(.from)
        #expect(headers.map(\.name) == [.route, .via])
        headers.add("X-Injected", "a\r\nVia: evil")
        #expect(headers["x-injected"] == "a  Via: evil")
    }

    @Test func listsSplitOutsideQuotesAndAngles() throws {
        let values = try SIPHeaders.splitList(#""Doe, John" <sip:j@x;a=b,c>;q=0.5 , <sip:k@y>,sip:z@w"#)
        #expect(values == [#""Doe, John" <sip:j@x;a=b,c>;q=0.5"#, "<sip:k@y>", "sip:z@w"])
        #expect(try SIPHeaders.splitList("   ") == [])
        #expect(throws: SIPParseError.self) { try SIPHeaders.splitList("a,,b") }
        #expect(throws: SIPParseError.self) { try SIPHeaders.splitList(#""unterminated, x"#) }
    }

    @Test func viaWithRportVariants() throws {
        let requested = try SIPVia(parsing: "SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bK776asdhds;rport")
        #expect(requested.transport == "UDP")
        #expect(requested.host == "192.0.2.1")
        #expect(requested.port == 5060)
        #expect(requested.branch == "z9hG4bK776asdhds")
        #expect(requested.rport == .requested)
        #expect(requested.isRFC3261Branch)

        var filled = try SIPVia(parsing: "SIP / 2.0 / tcp [2001:db8::9] : 5070 ; received=[2001:db8::1] ; rport=33000 ; branch=z9hG4bKx")
        #expect(filled.transport == "TCP")
        #expect(filled.host == "[2001:db8::9]")
        #expect(filled.port == 5070)
        #expect(filled.received == "[2001:db8::1]")
        #expect(filled.rport == .port(33000))

        filled.received = "198.51.100.7"
        filled.rport = .port(5061)
        #expect(filled.description == "SIP/2.0/TCP [2001:db8::9]:5070;received=198.51.100.7;rport=5061;branch=z9hG4bKx")
        #expect(try SIPVia(parsing: filled.description) == filled)
    }

    @Test(arguments: [
        "SIP/2.0/UDP", "SIP/2.0 UDP host", "SIP/2.0/UDPhost", "SIP/2.0/UDP host;;", "SIP/2.0/UDP host;branch",
        "SIP/2.0/UDP host:99999", "SIP/2.0/UDP host;received=example.com", "SIP/2.0/UDP host;rport=x",
        "SIP/2.0/UDP host;ttl=256", "SIP/2.0/UDP host;ttl=-1", "SIP/2.0/UDP host;rport=+5", "SIP/2.0/UDP host extra", "SIP/2.0/UDP [::1",
    ])
    func malformedViasAreRejected(text: String) {
        #expect(throws: SIPParseError.self) { try SIPVia(parsing: text) }
    }

    @Test func nameAddressForms() throws {
        let quoted = try SIPNameAddress(parsing: #""Alice \"A\" Smith" <sips:alice@example.com;transport=tls>;tag=88sja8x"#)
        #expect(quoted.displayName == #"Alice "A" Smith"#)
        #expect(quoted.sipURI?.scheme == .sips)
        #expect(quoted.sipURI?.transport == "tls")
        #expect(quoted.tag == "88sja8x")
        #expect(quoted.description == #""Alice \"A\" Smith" <sips:alice@example.com;transport=tls>;tag=88sja8x"#)

        let tokens = try SIPNameAddress(parsing: "Bob  Jones <sip:bob@example.com>")
        #expect(tokens.displayName == "Bob Jones")

        let bare = try SIPNameAddress(parsing: "sip:carol@example.com;tag=xyz")
        #expect(bare.displayName == nil)
        #expect(bare.sipURI?.parameters.isEmpty == true)
        #expect(bare.tag == "xyz")

        var built = SIPNameAddress(displayName: "Line\r\nBreak", uri: SIPURI(user: "d", host: "example.com"))
        built.tag = "1"
        #expect(built.description == #""Line  Break" <sip:d@example.com>;tag=1"#)
    }

    @Test(arguments: [
        "", "<sip:a@b", "\"open <sip:a@b>", "Bell, A <sip:a@b>", "<sip:a@b> garbage", "<sip:a@b>;",
        "sip:a@b?x=y", "< sip:a@b >", "<sip:a@b>;tag=\"x", "<>",
    ])
    func malformedAddressesAreRejected(text: String) {
        #expect(throws: SIPParseError.self) { try SIPNameAddress(parsing: text) }
    }

    @Test func cseqBounds() throws {
        #expect(try SIPCSeq(parsing: "2147483647 ACK") == SIPCSeq(sequence: 2_147_483_647, method: .ack))
        #expect(throws: SIPParseError.self) { try SIPCSeq(parsing: "2147483648 ACK") }
        #expect(throws: SIPParseError.self) { try SIPCSeq(parsing: "1INVITE") }
        #expect(throws: SIPParseError.self) { try SIPCSeq(parsing: "1 INVITE x") }
        #expect(throws: SIPParseError.self) { try SIPCSeq(parsing: "-1 INVITE") }
    }

    @Test func methodsAreCaseSensitiveTokens() {
        #expect(SIPMethod(rawValue: "INVITE") == .invite)
        #expect(SIPMethod(rawValue: "invite") != .invite)
        #expect(SIPMethod(rawValue: "IN VITE") == nil)
        #expect(SIPMethod(rawValue: "") == nil)
    }

    @Test func contentTypeWithQuotedBoundary() throws {
        let type = try SIPContentType(parsing: #"Multipart/Mixed ; boundary="unique-boundary-1""#)
        #expect(type.mediaType == "multipart/mixed")
        #expect(type.boundary == "unique-boundary-1")
        #expect(throws: SIPParseError.self) { try SIPContentType(parsing: "application") }
        #expect(throws: SIPParseError.self) { try SIPContentType(parsing: "application/sdp x") }
    }

    @Test func tokenListsAreSearchedCaseInsensitivelyAcrossFields() {
        let headers: SIPHeaders = [(.allow, "INVITE, ACK,CANCEL"), (.supported, "timer"), (.allow, " bye ,\tupdate\t, INFO")]
        #expect(headers.listContainsToken(.allow, "UPDATE"))
        #expect(headers.listContainsToken(.allow, "invite"))
        #expect(headers.listContainsToken(.allow, "Bye"))
        #expect(!headers.listContainsToken(.allow, "UPDAT"))
        #expect(!headers.listContainsToken(.allow, "timer"))
        #expect(!headers.listContainsToken(.allow, "PRACK"))
        let empty: SIPHeaders = [(.allow, "")], longer: SIPHeaders = [(.allow, "UPDATES")], brace: SIPHeaders = [(.allow, "UPDATE{")]
        #expect(!empty.listContainsToken(.allow, "UPDATE"))
        #expect(!longer.listContainsToken(.allow, "UPDATE"))
        // "{" and "[" differ only in the bit that is case for letters.
        #expect(!brace.listContainsToken(.allow, "UPDATE["))
    }
}
