import NIOCore
import Testing
@testable import SIP

/// RFC 4475 §3: every torture message, with what the RFC says an element does with it.
@Suite("RFC 4475 torture tests")
struct RFC4475Tests {
    @Test func everySectionThreeMessageIsPresent() throws {
        #expect(RFC4475.all.count == 49)
        #expect(Set(RFC4475.all).count == 49)
        for name in RFC4475.all {
            let bytes = try RFC4475.bytes(name)
            #expect(bytes.count > 100, "\(name)")
        }
    }

    // MARK: 3.1.1 Valid messages

    @Test("3.1.1.1 A Short Tortuous INVITE") func wsinv() throws {
        let message = try RFC4475.message("wsinv")
        #expect(message.method == .invite)
        let uri = try #require(message.requestURI?.sipURI)
        #expect(uri.user == "vivekg")
        #expect(uri.host == "chair-dnrc.example.com")
        #expect(uri.parameters.contains("unknownparam"))
        #expect(uri.parameters["unknownparam"]?.value == nil)

        let to = try message.to
        #expect(to.displayName == nil)
        #expect(to.sipURI?.user == "vivekg")
        #expect(to.tag == "1918181833n")
        let from = try message.from
        #expect(from.displayName == "J Rosenberg \\\"")
        #expect(from.sipURI?.user == "jdrosen")
        #expect(from.tag == "98asjd8")
        #expect(try message.maxForwards == 68)
        #expect(message.callID == "wsinv.ndaksdj@192.0.2.1")
        #expect(try message.cseq == SIPCSeq(sequence: 9, method: .invite))
        #expect(try message.contentLength == 150)

        let vias = try message.vias
        #expect(vias.map(\.transport) == ["UDP", "TCP", "UDP"])
        #expect(vias.map(\.host) == ["192.0.2.2", "spindle.example.com", "192.168.255.111"])
        #expect(vias.map(\.branch) == ["390skdjuw", "z9hG4bK9ikj8", "z9hG4bK30239"])

        #expect(message.headers[.subject] == "")
        #expect(message.headers["NewFangledHeader"] == "newfangled value continued newfangled value")
        #expect(message.headers["UnknownHeaderWithUnusualValue"] == ";;,,;;,;")
        #expect(try message.contentType?.mediaType == "application/sdp")

        let route = try #require(try message.routes.first?.sipURI)
        #expect(route.host == "services.example.com")
        #expect(route.isLooseRouting)
        #expect(route.parameters.value(for: "unknownwith") == "value")
        #expect(route.parameters.contains("unknown-no-value"))

        let contact = try #require(try message.contacts?.addresses.first)
        #expect(contact.displayName == "Quoted string \"\"")
        #expect(contact.parameters.value(for: "newparam") == "newvalue")
        #expect(contact.parameters.contains("secondparam"))
        #expect(contact.parameters["secondparam"]?.value == nil)
        #expect(contact.parameters.value(for: "q") == "0.33")
        #expect(message.body.readableBytes == 150)
    }

    @Test("3.1.1.2 Wide Range of Valid Characters") func intmeth() throws {
        let message = try RFC4475.message("intmeth")
        let method = "!interesting-Method0123456789_*+`.%indeed'~"
        #expect(message.method?.rawValue == method)
        #expect(message.method != .invite)
        let uri = try #require(message.requestURI?.sipURI)
        #expect(uri.user == "1_unusual.URI~(to-be!sure)&isn't+it$/crazy?,/;;*")
        #expect(uri.password == "&it+has=1,weird!*pas$wo~d_too.(doesn't-it)")
        #expect(uri.host == "example.com")
        #expect(try message.topVia?.branch == "z9hG4bK-.!%66*_+`'~")
        #expect(try message.to.displayName == "BEL:\u{07} NUL:\u{00} DEL:\u{7F}")
        #expect(try message.to.sipURI?.user == "1_unusual.URI~(to-be!sure)&isn't+it$/crazy?,/;;*")
        let from = try message.from
        #expect(from.displayName == "token1~` token2'+_ token3*%!.-")
        #expect(from.parameters.unquotedValue(for: "fromParam''~+*_!.-%") == "работающий")
        #expect(from.tag == "_token~1'+`*%!-.")
        #expect(message.callID == "intmeth.word%ZK-!.*_+'@word`~)(><:\\/\"][?}{")
        #expect(try message.cseq.method.rawValue == method)
        #expect(try message.cseq.sequence == 139_122_385)
        #expect(try message.maxForwards == 255)
        #expect(message.headers["extensionHeader-!.%*+_`'~"] == "\u{FEFF}大停電")
    }

    @Test("3.1.1.3 Valid Use of the % Escaping Mechanism") func esc01() throws {
        let message = try RFC4475.message("esc01")
        let uri = try #require(message.requestURI?.sipURI)
        #expect(uri.user == "sips:user@example.com")
        #expect(uri.host == "example.net")
        #expect(try message.to.sipURI?.user == "user")
        #expect(try message.from.sipURI?.user == "I have spaces")
        let contact = try #require(try message.contacts?.addresses.first?.sipURI)
        #expect(contact.user == "caller")
        #expect(contact.parameters.map(\.name) == ["%6C%72", "n%61me"])
        #expect(contact.parameters.value(for: "n%61me") == "v%61lue%25%34%31")
        #expect(message.callID == "esc01.239409asdfakjkn23onasd0-3234")
        #expect(try message.contentType?.mediaType == "application/sdp")
        // Escapes are decoded once, never recursively, and re-escaped on output.
        #expect(uri.description == "sip:sips%3Auser%40example.com@example.net")
    }

    @Test("3.1.1.4 Escaped Nulls in URIs") func escnull() throws {
        let message = try RFC4475.message("escnull")
        #expect(try message.to.sipURI?.user == "null-\u{0}-null")
        #expect(try message.from.sipURI?.user == "null-\u{0}-null")
        let users = try #require(try message.contacts).addresses.map { $0.sipURI?.user }
        #expect(users == ["\u{0}", "\u{0}\u{0}"])
        #expect(try message.to.sipURI?.description == "sip:null-%00-null@example.com")
    }

    @Test("3.1.1.5 Use of % When It Is Not an Escape") func esc02() throws {
        let message = try RFC4475.message("esc02")
        #expect(message.method?.rawValue == "RE%47IST%45R")
        #expect(message.method != .register)
        #expect(try message.cseq.method.rawValue == "RE%47IST%45R")
        #expect(try message.to.displayName == "%Z%45")
        #expect(try message.topVia?.branch == "z9hG4bK209%fzsnel234")
        // C%6Fntact is an unknown header field, not Contact.
        #expect(message.headers["C%6Fntact"] == "<sip:alias2@host2.example.com>")
        let hosts = try #require(try message.contacts).addresses.map { $0.sipURI?.host }
        #expect(hosts == ["host1.example.com", "host3.example.com"])
    }

    @Test("3.1.1.6 Message with No LWS between Display Name and <") func lwsdisp() throws {
        let message = try RFC4475.message("lwsdisp")
        #expect(try message.from.displayName == "caller")
        #expect(try message.from.sipURI?.user == "caller")
        #expect(try message.from.tag == "323")
    }

    @Test("3.1.1.7 Long Values in Header Fields") func longreq() throws {
        let message = try RFC4475.message("longreq")
        let to = try message.to
        #expect(to.displayName == "I have a user name of " + String(repeating: "extreme", count: 10) + " proportion")
        #expect(to.sipURI?.port == 6000)
        #expect(to.sipURI?.parameters.count == 3)
        #expect(to.sipURI?.parameters.contains("very" + String(repeating: "long", count: 25) + "ParameterNameWithNoValue") == true)
        let from = try message.from
        #expect(from.sipURI?.user == String(repeating: "amazinglylongcallername", count: 5))
        #expect(from.tag == "12" + String(repeating: "982", count: 50) + "424")
        #expect(from.parameters.count == 3)
        let vias = try message.vias
        #expect(vias.count == 34)
        #expect(vias.first?.host == "sip33.example.com")
        #expect(vias.last?.received == "192.0.2.5")
        #expect(vias.last?.branch == "very" + String(repeating: "long", count: 50) + "branchvalue")
        #expect(message.callID == "longreq.one" + String(repeating: "really", count: 20) + "longcallid")
        let unknownName = SIPHeaderName("Unknown-" + String(repeating: "Long", count: 20) + "-Name")
        #expect(message.headers[unknownName]?.hasPrefix("unknown-long") == true)
        #expect(message.body.readableBytes == 150)
    }

    @Test("3.1.1.8 Extra Trailing Octets in a UDP Datagram") func dblreq() throws {
        let message = try RFC4475.message("dblreq")
        #expect(message.method == .register)
        #expect(message.body.readableBytes == 0)
        #expect(message.callID == "dblreq.0ha0isndaksdj99sdfafnl3lk233412")
        // The INVITE that follows is ignored, not forwarded.
        #expect(!message.description.contains("INVITE"))
    }

    @Test("3.1.1.9 Semicolon-Separated Parameters in URI User Part") func semiuri() throws {
        let message = try RFC4475.message("semiuri")
        let uri = try #require(message.requestURI?.sipURI)
        #expect(uri.user == "user;par=u@example.net")
        #expect(uri.host == "example.com")
        #expect(uri.parameters.isEmpty)
        #expect(try message.headers.listValues(for: .accept).count == 6)
    }

    @Test("3.1.1.10 Varied and Unknown Transport Types") func transports() throws {
        let message = try RFC4475.message("transports")
        #expect(try message.vias.map(\.transport) == ["UDP", "SCTP", "TLS", "UNKNOWN", "TCP"])
        #expect(message.callID == "transports.kijh4akdnaqjkwendsasfdj")
    }

    @Test("3.1.1.11 Multipart MIME Message") func mpart01() throws {
        let message = try RFC4475.message("mpart01")
        #expect(message.method == .message)
        #expect(try message.contentType?.boundary == "7a9cbec02ceef655")
        #expect(try message.topVia?.rport == .requested)
        let parts = try #require(try message.multipartParts())
        #expect(parts.count == 2)
        #expect(parts[0].contentType?.mediaType == "text/plain")
        #expect(RFC4475.text(parts[0].body) == "Hello")
        #expect(parts[1].contentType?.mediaType == "application/octet-stream")
        #expect(parts[1].headers["Content-Transfer-Encoding"] == "binary")
        #expect(parts[1].body.readableBytes > 300)
        #expect(message.body.readableBytes == 553)
    }

    @Test("3.1.1.12 Unusual Reason Phrase") func unreason() throws {
        let message = try RFC4475.message("unreason")
        #expect(message.statusCode == 200)
        #expect(message.reasonPhrase == "= 2**3 * 5**2 но сто девяносто девять - простое")
    }

    @Test("3.1.1.13 Empty Reason Phrase") func noreason() throws {
        let message = try RFC4475.message("noreason")
        #expect(message.statusCode == 100)
        #expect(message.reasonPhrase == "")
    }

    // MARK: 3.1.2 Invalid messages

    private func expectRejection(_ name: String, _ code: SIPParseError.Code, status: Int?, answerable: Bool) throws {
        let error = try #require(try RFC4475.failure(name), "\(name) must be rejected")
        #expect(error.code == code, "\(name): \(error)")
        #expect(error.responseStatus == status, "\(name)")
        #expect(error.isAnswerable == answerable, "\(name)")
        if answerable {
            let response = try #require(error.makeResponse())
            #expect(response.statusCode == status)
            #expect(response.headers.contains(.via))
            #expect(response.headers.contains(.cseq))
        } else {
            #expect(error.makeResponse() == nil)
        }
    }

    @Test("3.1.2.1 Extraneous Header Field Separators") func badinv01() throws {
        try expectRejection("badinv01", .malformedHeader(.via), status: 400, answerable: true)
    }

    @Test("3.1.2.2 Content Length Larger Than Message") func clerr() throws {
        try expectRejection("clerr", .truncatedBody, status: 400, answerable: true)
    }

    @Test("3.1.2.3 Negative Content-Length") func ncl() throws {
        try expectRejection("ncl", .invalidContentLength, status: 400, answerable: true)
    }

    @Test("3.1.2.4 Request Scalar Fields with Overlarge Values") func scalar02() throws {
        try expectRejection("scalar02", .malformedHeader(.cseq), status: 400, answerable: true)
        // Each overlarge scalar is rejected on its own, too.
        var headers: SIPHeaders = [(.maxForwards, "300"), (.expires, "1" + String(repeating: "0", count: 100))]
        var message = SIPMessage.request(method: .register, uri: .sip(SIPURI(host: "example.com")), headers: headers)
        #expect(throws: SIPParseError.self) { try message.maxForwards }
        #expect(throws: SIPParseError.self) { try message.expires }
        headers = [(.contact, "<sip:user@host129.example.com>;expires=280297596632815")]
        message.headers = headers
        #expect(try message.contacts?.addresses.first?.parameters.value(for: "expires").flatMap { UInt32($0) } == nil)
    }

    @Test("3.1.2.5 Response Scalar Fields with Overlarge Values") func scalarlg() throws {
        // A response is never answered: it is discarded.
        try expectRejection("scalarlg", .malformedHeader(.cseq), status: nil, answerable: false)
    }

    @Test("3.1.2.6 Unterminated Quoted String in Display Name") func quotbal() throws {
        try expectRejection("quotbal", .malformedHeader(.to), status: 400, answerable: true)
    }

    @Test("3.1.2.7 <> Enclosing Request-URI") func ltgtruri() throws {
        try expectRejection("ltgtruri", .malformedStartLine, status: 400, answerable: true)
    }

    @Test("3.1.2.8 Malformed SIP Request-URI (embedded LWS)") func lwsruri() throws {
        try expectRejection("lwsruri", .malformedStartLine, status: 400, answerable: true)
    }

    @Test("3.1.2.9 Multiple SP Separating Request-Line Elements") func lwsstart() throws {
        try expectRejection("lwsstart", .malformedStartLine, status: 400, answerable: true)
    }

    @Test("3.1.2.10 SP Characters at End of Request-Line") func trws() throws {
        try expectRejection("trws", .malformedStartLine, status: 400, answerable: true)
    }

    @Test("3.1.2.11 Escaped Headers in SIP Request-URI") func escruri() throws {
        try expectRejection("escruri", .requestURIWithHeaders, status: 400, answerable: true)
    }

    @Test("3.1.2.12 Invalid Time Zone in Date Header Field") func baddate() throws {
        // The message parses; the Date value is flagged for the element that cares about it.
        let message = try RFC4475.message("baddate")
        #expect(message.headers[.date] == "Fri, 01 Jan 2010 16:00:00 EST")
        #expect(message.semanticIssues == [.invalidDate])
        #expect(SIPSemanticIssue.invalidDate.suggestedStatus == 400)
    }

    @Test("3.1.2.13 Failure to Enclose name-addr URI in <>") func regbadct() throws {
        try expectRejection("regbadct", .malformedHeader(.contact), status: 400, answerable: true)
    }

    @Test("3.1.2.14 Spaces within addr-spec") func badaspec() throws {
        try expectRejection("badaspec", .malformedHeader(.to), status: 400, answerable: true)
    }

    @Test("3.1.2.15 Non-token Characters in Display Name") func baddn() throws {
        try expectRejection("baddn", .malformedHeader(.from), status: 400, answerable: true)
    }

    @Test("3.1.2.16 Unknown Protocol Version") func badvers() throws {
        try expectRejection("badvers", .unsupportedVersion, status: 505, answerable: true)
    }

    @Test("3.1.2.17 Start Line and CSeq Method Mismatch") func mismatch01() throws {
        try expectRejection("mismatch01", .cseqMethodMismatch, status: 400, answerable: true)
    }

    @Test("3.1.2.18 Unknown Method with CSeq Method Mismatch") func mismatch02() throws {
        try expectRejection("mismatch02", .cseqMethodMismatch, status: 400, answerable: true)
    }

    @Test("3.1.2.19 Overlarge Response Code") func bigcode() throws {
        try expectRejection("bigcode", .malformedStartLine, status: nil, answerable: false)
    }

    // MARK: 3.2 Transaction layer

    @Test("3.2.1 Missing Transaction Identifier") func badbranch() throws {
        let message = try RFC4475.message("badbranch")
        let via = try #require(try message.topVia)
        #expect(via.branch == "z9hG4bK")
        #expect(!via.isRFC3261Branch)
    }

    // MARK: 3.3 Application layer

    @Test("3.3.1 Missing Required Header Fields") func insuf() throws {
        try expectRejection("insuf", .missingHeader(.to), status: 400, answerable: true)
        let response = try #require(try RFC4475.failure("insuf")?.makeResponse())
        #expect(response.headers.map(\.name) == [.cseq, .via])
    }

    @Test("3.3.2 Request-URI with Unknown Scheme") func unkscm() throws {
        let message = try RFC4475.message("unkscm")
        #expect(message.requestURI == .other(scheme: "nobodyknowsthisscheme", text: "nobodyKnowsThisScheme:totallyopaquecontent"))
        #expect(message.semanticIssues == [.unsupportedRequestURIScheme("nobodyknowsthisscheme")])
        #expect(message.semanticIssues.first?.suggestedStatus == 416)
    }

    @Test("3.3.3 Request-URI with Known but Atypical Scheme") func novelsc() throws {
        let message = try RFC4475.message("novelsc")
        #expect(message.requestURI?.scheme == "soap.beep")
        #expect(message.requestURI?.description == "soap.beep://192.0.2.103:3002")
        #expect(message.semanticIssues == [.unsupportedRequestURIScheme("soap.beep")])
    }

    @Test("3.3.4 Unknown URI Schemes in Header Fields") func unksm2() throws {
        let message = try RFC4475.message("unksm2")
        #expect(try message.to.uri == .other(scheme: "isbn", text: "isbn:2983792873"))
        #expect(try message.from.uri.scheme == "http")
        #expect(try message.contacts?.addresses.first?.uri.description == "name:John_Smith")
        #expect(message.semanticIssues == [.nonSIPAddress(.from), .nonSIPAddress(.to), .nonSIPAddress(.contact)])
    }

    @Test("3.3.5 Proxy-Require and Require") func bext01() throws {
        let message = try RFC4475.message("bext01")
        #expect(try message.require == ["nothingSupportsThis", "nothingSupportsThisEither"])
        #expect(try message.proxyRequire == ["noProxiesSupportThis", "norDoAnyProxiesSupportThis"])
        #expect(try message.unsupportedRequire(supported: ["100rel", "timer"]) == ["nothingSupportsThis", "nothingSupportsThisEither"])
        let response = try #require(try message.badExtensionResponse(supported: ["100rel"], toTag: "b2b"))
        #expect(response.statusCode == 420)
        #expect(response.headers[.unsupported] == "nothingSupportsThis, nothingSupportsThisEither")
        #expect(try response.to.tag == "b2b")
    }

    @Test("3.3.6 Unknown Content-Type") func invut() throws {
        let message = try RFC4475.message("invut")
        #expect(try message.contentType?.mediaType == "application/unknownformat")
        #expect(RFC4475.text(message.body) == "<audio>\r\n <pcmu port=\"443\"/>\r\n</audio>\r\n")
    }

    @Test("3.3.7 Unknown Authorization Scheme") func regaut01() throws {
        let message = try RFC4475.message("regaut01")
        #expect(message.headers[.authorization] == "NoOneKnowsThisScheme opaque-data=here")
        #expect(message.method == .register)
    }

    @Test("3.3.8 Multiple Values in Single Value Required Fields") func multi01() throws {
        try expectRejection("multi01", .duplicateHeader(.to), status: 400, answerable: true)
    }

    @Test("3.3.9 Multiple Content-Length Values") func mcl01() throws {
        try expectRejection("mcl01", .invalidContentLength, status: 400, answerable: true)
    }

    @Test("3.3.10 200 OK Response with Broadcast Via Header Field Value") func bcast() throws {
        let message = try RFC4475.message("bcast")
        #expect(message.statusCode == 200)
        #expect(try message.vias.map(\.host) == ["192.0.2.198", "255.255.255.255"])
    }

    @Test("3.3.11 Max-Forwards of Zero") func zeromf() throws {
        let message = try RFC4475.message("zeromf")
        #expect(try message.maxForwards == 0)
        #expect(message.semanticIssues == [.maxForwardsExhausted])
    }

    @Test("3.3.12 REGISTER with a Contact Header Parameter") func cparam01() throws {
        let message = try RFC4475.message("cparam01")
        let contact = try #require(try message.contacts?.addresses.first)
        #expect(contact.parameters.contains("unknownparam"))
        #expect(contact.sipURI?.parameters.isEmpty == true)
        #expect(contact.sipURI?.user == "+19725552222")
    }

    @Test("3.3.13 REGISTER with a url-parameter") func cparam02() throws {
        let message = try RFC4475.message("cparam02")
        let contact = try #require(try message.contacts?.addresses.first)
        #expect(contact.parameters.isEmpty)
        #expect(contact.sipURI?.parameters.contains("unknownparam") == true)
    }

    @Test("3.3.14 REGISTER with a URL Escaped Header") func regescrt() throws {
        let message = try RFC4475.message("regescrt")
        let contact = try #require(try message.contacts?.addresses.first?.sipURI)
        #expect(contact.headers == [SIPURIHeader(name: "Route", value: "%3Csip:sip.example.com%3E")])
    }

    @Test("3.3.15 Unacceptable Accept Offering") func sdp01() throws {
        let message = try RFC4475.message("sdp01")
        #expect(message.headers[.accept] == "text/nobodyKnowsThis")
        #expect(try message.contentType == .sdp)
    }

    // MARK: 3.4 Backward compatibility

    @Test("3.4.1 INVITE with RFC 2543 Syntax") func inv2543() throws {
        let message = try RFC4475.message("inv2543")
        let via = try #require(try message.topVia)
        #expect(via.branch == nil)
        #expect(!via.isRFC3261Branch)
        #expect(try message.maxForwards == nil)
        #expect(try message.contentLength == nil)
        #expect(message.body.readableBytes == 105)
        #expect(try message.from.sipURI?.parameters.value(for: "user") == "phone")
        #expect(try message.to.parameters.value(for: "user") == "phone")
        #expect(try message.recordRoutes.first?.sipURI?.maddr == "ss1.example.com")
    }

    // MARK: Round trips and framing

    @Test(arguments: RFC4475.parseable)
    func roundTrip(name: String) throws {
        let first = try RFC4475.message(name)
        let wire = first.serialized()
        let second = try SIPMessage.parse(datagram: wire)
        #expect(second.startLine == first.startLine)
        #expect(second.body == first.body)
        #expect(second.headers.filter { $0.name != .contentLength } == first.headers.filter { $0.name != .contentLength })
        #expect(try second.contentLength == first.body.readableBytes)
        #expect(second.serialized() == wire)
    }

    @Test(arguments: RFC4475.parseable.filter { $0 != "inv2543" })
    func framesOnAStream(name: String) throws {
        // dblreq carries an incomplete second message; it is left in the buffer.
        var framer = SIPStreamFramer()
        var buffer = ByteBuffer(bytes: try RFC4475.bytes(name))
        let frame = try framer.nextFrame(from: &buffer)
        #expect(frame == .message(try RFC4475.message(name)))
    }

    @Test(arguments: RFC4475.all)
    func survivesEveryTruncation(name: String) throws {
        let bytes = try RFC4475.bytes(name)
        for length in stride(from: 0, to: bytes.count, by: 7) {
            _ = try? SIPMessage.parse(datagram: Array(bytes[0..<length]))
            var framer = SIPStreamFramer()
            var buffer = ByteBuffer(bytes: bytes[0..<length])
            _ = try? framer.nextFrame(from: &buffer)
        }
    }
}
