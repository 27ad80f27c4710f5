import Testing
@testable import SIP

@Suite("SIPURI")
struct SIPURITests {
    @Test func parsesPlainURI() throws {
        let uri = try SIPURI("sip:alice@example.com")
        #expect(uri.scheme == .sip)
        #expect(uri.user == "alice")
        #expect(uri.password == nil)
        #expect(uri.host == "example.com")
        #expect(uri.port == nil)
        #expect(uri.parameters.isEmpty)
        #expect(uri.headers.isEmpty)
    }

    @Test func parsesSIPSWithIPv6AndTransport() throws {
        let uri = try SIPURI("sips:+4930123@[2001:db8::1]:5061;transport=tls")
        #expect(uri.scheme == .sips)
        #expect(uri.user == "+4930123")
        #expect(uri.host == "[2001:db8::1]")
        #expect(uri.port == 5061)
        #expect(uri.transport == "tls")
        #expect(uri.defaultPort == 5061)
    }

    @Test func parsesValuelessParameter() throws {
        let uri = try SIPURI("sip:queue@10.0.0.1;lr")
        #expect(uri.host == "10.0.0.1")
        #expect(uri.isLooseRouting)
        #expect(uri.parameters.elements == [SIPParameter(name: "lr")])
    }

    @Test func schemeIsCaseInsensitive() throws {
        let uri = try SIPURI("SIP:ALICE@AtLanTa.CoM;Transport=UDP")
        #expect(uri.scheme == .sip)
        #expect(uri.user == "ALICE")
        #expect(uri.host == "AtLanTa.CoM")
        #expect(uri.transport == "udp")
        #expect(uri.description == "sip:ALICE@AtLanTa.CoM;Transport=UDP")
    }

    @Test func parsesHostOnlyURIWithHeaders() throws {
        let uri = try SIPURI("sip:biloxi.com;transport=tcp;method=REGISTER?to=sip:bob%40biloxi.com&priority=urgent")
        #expect(uri.user == nil)
        #expect(uri.host == "biloxi.com")
        #expect(uri.parameters.value(for: "METHOD") == "REGISTER")
        #expect(uri.headers == [SIPURIHeader(name: "to", value: "sip:bob%40biloxi.com"),
                                SIPURIHeader(name: "priority", value: "urgent")])
    }

    @Test func decodesUserAndPasswordEscapes() throws {
        let uri = try SIPURI("sip:%61lice:se%63ret@example.com")
        #expect(uri.user == "alice")
        #expect(uri.password == "secret")
        // Characters that are allowed unescaped are written plainly.
        #expect(uri.description == "sip:alice:secret@example.com")
    }

    @Test func escapesUserOnOutput() {
        let uri = SIPURI(user: "a b@c", host: "example.com")
        #expect(uri.description == "sip:a%20b%40c@example.com")
    }

    @Test(arguments: [
        "sip:alice@example.com",
        "sips:+4930123@[2001:db8::1]:5061;transport=tls",
        "sip:queue@10.0.0.1;lr",
        "sip:user;par=u%40example.net@example.com",
        "sip:alice@[::1]",
        "sip:alice@[::ffff:192.0.2.1]:5060;maddr=239.255.255.1;ttl=15",
        "sip:example.com.",
        "sip:alice@a-b.example.com:0",
        "sip:alice@host:65535",
        "sip:%00@host5.example.com",
        "sip:df7jal23ls0d.invalid;transport=ws",
        "sip:alice:@example.com",
    ])
    func validURIsRoundTrip(text: String) throws {
        let uri = try SIPURI(text)
        let again = try SIPURI(uri.description)
        #expect(again == uri)
    }

    @Test(arguments: [
        "sip:", "http://x", "sip:alice@", "sip:a@b:99999", "sip:a@exa mple.com", "sip:@example.com",
        "sip:alice@example.com:", "sip:alice@[2001:db8::1", "sip:alice@[2001:db8:::1]", "sip:alice@[1:2:3:4:5:6:7:8:9]",
        "sip:alice@1.2.3.999", "sip:alice@-example.com", "sip:alice@example..com", "sip:al%zzice@example.com",
        "sip:alice@example.com;", "sip:alice@example.com;=x", "sip:alice@example.com?", "sip:alice@example.com?x",
        "sip:alice@example.com>", "sip:al<ice@example.com", "sip:alice@example.com;p=a b", "sip:%ff@example.com",
        "sip:alice@example.com:123456", "sipx:alice@example.com", "alice@example.com",
    ])
    func invalidURIsAreRejected(text: String) {
        #expect(throws: SIPParseError.self) { try SIPURI(text) }
    }

    @Test func nonSIPSchemeIsTypedError() {
        #expect { try SIPURI("http://x") } throws: { ($0 as? SIPParseError)?.code == .unsupportedURIScheme }
        #expect { try SIPURI("sip:a@b:99999") } throws: { ($0 as? SIPParseError)?.code == .invalidURI }
    }

    @Test func anyURIKeepsOtherSchemes() throws {
        #expect(try SIPAnyURI("tel:+1-201-555-0123") == .other(scheme: "tel", text: "tel:+1-201-555-0123"))
        #expect(try SIPAnyURI("sip:bob@example.com").sipURI?.user == "bob")
        #expect(throws: SIPParseError.self) { try SIPAnyURI("tel:") }
        #expect(throws: SIPParseError.self) { try SIPAnyURI("1tel:x") }
        #expect(throws: SIPParseError.self) { try SIPAnyURI("tel:a b") }
    }

    @Test func parametersAreOrderedAndCaseInsensitive() {
        var parameters: SIPParameters = [("transport", "tcp"), ("lr", nil)]
        #expect(parameters.value(for: "TRANSPORT") == "tcp")
        parameters.set("Transport", "tls")
        parameters.append("maddr", "10.0.0.1")
        #expect(parameters.description == ";transport=tls;lr;maddr=10.0.0.1")
        parameters.remove("LR")
        #expect(parameters.map(\.name) == ["transport", "maddr"])
    }
}
