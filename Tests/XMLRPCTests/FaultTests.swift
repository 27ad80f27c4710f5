import Testing
import XMLRPC

@Suite("XML-RPC faults")
struct FaultTests {
    @Test("not well-formed XML is -32700", arguments: [
        "", "<", "not xml at all", "<methodCall><methodName>x</methodName>",
        "<methodCall><methodName>x</methodName></methodcall>", "<methodCall></methodCall><methodCall></methodCall>",
        "<methodCall><methodName>x</methodName><params><param><value><int>1</value></param></params></methodCall>",
        "<methodCall><methodName>&bogus;</methodName></methodCall>", "<?xml version=\"1.0\"?>",
    ])
    func notWellFormed(_ document: String) {
        #expect(callFault(bytes(document))?.code == XMLRPCFault.parseError)
    }

    @Test func truncatedDocument() {
        let full = XMLRPCEncoder.methodCall("widgets.list", params: [.structure(XMLRPCStruct([("a", .array([.int(1), .string("x")]))]))])
        for length in stride(from: 0, to: full.count - 1, by: 7) {
            #expect(callFault(Array(full.prefix(length)))?.code == XMLRPCFault.parseError, "prefix of \(length) bytes")
        }
    }

    @Test func nulBytes() {
        var document = call(withValue: "<string>a_b</string>")
        let offset = document.firstIndex(of: UInt8(ascii: "_"))!
        document[offset] = 0
        let fault = callFault(document)
        #expect(fault?.code == XMLRPCFault.invalidCharacter)
        #expect(fault?.message == "NUL byte at offset \(offset)")
        #expect(callFault([0, 0, 0, 0]) != nil)
        // libxml2 alone would stop at the NUL and accept the document before it.
        #expect(callFault(bytes("<methodCall><methodName>x</methodName></methodCall>") + [0] + bytes("<junk"))?.code == XMLRPCFault.invalidCharacter)
    }

    /// libxml2 quotes the bad namespace URI, U+FFFE included; the fault carries U+FFFD instead
    /// (XML cannot), so it comes back from its own encoding unchanged.
    @Test func faultMessagesHoldOnlyWhatXMLCarries() throws {
        // A fuzzer's find: an invalid UTF-8 byte and U+FFFE in a namespace URI.
        let document = bytes("<?xml version=\"1.0\"?><methodCall xmlns:ex=\"http://ws") + [0x8F] + bytes(".apache.org/xmlrpc") + [0xEF, 0xBF, 0xBE]
            + bytes("/namespaces/extensions\"><methodName>x</methodName><params><param><value><ex:i8>5000000000</ex:i8>alue>")
            + bytes("<i8>-922337203685faultCode4775808</i8></value></param></params></methodCall>")
        let fault = try #require(callFault(document))
        #expect(fault.code == XMLRPCFault.parseError)
        #expect(fault.message.contains("\u{FFFD}"))
        #expect(!fault.message.unicodeScalars.contains { $0.value == 0xFFFE })
        #expect(throws: fault) { try XMLRPCDecoder.methodResponse(XMLRPCEncoder.fault(fault)) }
    }

    @Test func utf16IsUnsupported() {
        var utf16: [UInt8] = [0xFF, 0xFE]
        for unit in "<methodCall><methodName>x</methodName></methodCall>".utf16 { utf16 += [UInt8(unit & 0xFF), UInt8(unit >> 8)] }
        #expect(callFault(utf16)?.code == XMLRPCFault.unsupportedEncoding)
        #expect(callFault(Array(utf16.dropFirst(2)))?.code == XMLRPCFault.unsupportedEncoding)
    }

    @Test func forbiddenCharacterReference() {
        #expect(callFault(call(withValue: "<string>&#1;</string>"))?.code == XMLRPCFault.invalidCharacter)
        #expect(callFault(call(withValue: "<string>\u{1}</string>"))?.code == XMLRPCFault.invalidCharacter)
    }

    @Test func unknownEncodingIsUnsupported() {
        let document = bytes("<?xml version=\"1.0\" encoding=\"X-NO-SUCH-ENCODING\"?><methodCall><methodName>x</methodName></methodCall>")
        #expect(callFault(document)?.code == XMLRPCFault.unsupportedEncoding)
    }

    @Test func latin1DocumentIsDecoded() throws {
        let document = bytes("<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?><methodCall><methodName>x</methodName><params><param><value><string>caf")
            + [0xE9] + bytes("</string></value></param></params></methodCall>")
        #expect(try XMLRPCDecoder.methodCall(document).params == [.string("café")])
    }

    @Test func invalidUTF8IsAnInvalidCharacter() {
        let document = bytes("<methodCall><methodName>x</methodName><params><param><value><string>caf") + [0xE9]
            + bytes("</string></value></param></params></methodCall>")
        let fault = callFault(document)
        #expect(fault?.code == XMLRPCFault.invalidCharacter || fault?.code == XMLRPCFault.parseError, "\(String(describing: fault))")
    }

    /// Well-formed XML that is not a valid XML-RPC call: -32600, with what is wrong in the message.
    @Test("well-formed but not XML-RPC is -32600", arguments: [
        ("<methodResponse><params/></methodResponse>", "not <methodCall>"),
        ("<methodcall><methodName>x</methodName></methodcall>", "root element"),
        ("<methodCall/>", "no <methodName>"),
        ("<methodCall><params/></methodCall>", "no <methodName>"),
        ("<methodCall><methodName>  </methodName></methodCall>", "empty <methodName>"),
        ("<methodCall><methodName><b>x</b></methodName></methodCall>", "unexpected element <b>"),
        ("<methodCall><methodName>x</methodName><params/><params/></methodCall>", "unexpected element <params>"),
        ("<methodCall><methodName>x</methodName><extra/></methodCall>", "unexpected element <extra>"),
        ("<methodCall><methodName>x</methodName><params><value/></params></methodCall>", "unexpected element <value> in <params>"),
        ("<methodCall><methodName>x</methodName><params><param/></params></methodCall>", "exactly one <value>"),
        ("<methodCall><methodName>x</methodName><params><param><value/><value/></param></params></methodCall>", "exactly one <value>"),
        ("<methodCall><methodName>x</methodName><params>text</params></methodCall>", "unexpected text"),
    ])
    func invalidCallStructure(_ document: String, _ message: String) {
        let fault = callFault(bytes(document))
        #expect(fault?.code == XMLRPCFault.invalidRequest)
        #expect(fault?.message.contains(message) == true, "\(String(describing: fault))")
        #expect(fault?.message.contains("line 1") == true)
    }

    @Test("invalid values are -32600", arguments: [
        ("<int>12x</int>", "not an integer"), ("<int></int>", "not an integer"), ("<int>1 2</int>", "not an integer"),
        ("<int>9223372036854775808</int>", "not an integer"), ("<i8>-9223372036854775809</i8>", "not an integer"),
        ("<i4>0x10</i4>", "not an integer"), ("<int>-</int>", "not an integer"),
        ("<boolean>2</boolean>", "must be 0 or 1"), ("<boolean>true</boolean>", "must be 0 or 1"), ("<boolean/>", "must be 0 or 1"),
        ("<double>nan</double>", "finite"), ("<double>inf</double>", "finite"), ("<double>1e400</double>", "finite"),
        ("<double>0x1p3</double>", "finite"), ("<double>1.5.2</double>", "finite"), ("<double></double>", "finite"),
        ("<base64>AAE=A</base64>", "base64"), ("<base64>A</base64>", "base64"), ("<base64>AA*A</base64>", "base64"),
        ("<base64>A===</base64>", "base64"),
        ("<dateTime.iso8601>19981317T14:08:55</dateTime.iso8601>", "dateTime"),
        ("<dateTime.iso8601>19980717T24:00:00</dateTime.iso8601>", "dateTime"),
        ("<dateTime.iso8601>19980732T14:08:55</dateTime.iso8601>", "dateTime"),
        ("<dateTime.iso8601>1998-0717T14:08:55</dateTime.iso8601>", "dateTime"),
        ("<dateTime.iso8601>19980717T14:08:55+25:00</dateTime.iso8601>", "dateTime"),
        ("<dateTime.iso8601>00000101T00:00:00+01:00</dateTime.iso8601>", "dateTime"),
        ("<dateTime.iso8601>yesterday</dateTime.iso8601>", "dateTime"),
        ("<float>1.5</float>", "unknown type element <float>"), ("<ex:float>1</ex:float>", "unknown type element"),
        ("<int>1</int><int>2</int>", "more than one element"), ("text<int>1</int>", "text beside <int>"),
        ("<string><b>bold</b></string>", "unexpected element <b>"), ("<nil>x</nil>", "must be empty"),
        ("<array/>", "exactly one <data>"), ("<array><data/><data/></array>", "exactly one <data>"),
        ("<array><data><int>1</int></data></array>", "unexpected element <int> in <data>"),
        ("<struct><value/></struct>", "unexpected element <value> in <struct>"),
        ("<struct><member><value><int>1</int></value></member></struct>", "one <name> and one <value>"),
        ("<struct><member><name>a</name></member></struct>", "one <name> and one <value>"),
        ("<struct><member><name>a</name><name>b</name></member></struct>", "one <name> and one <value>"),
        ("<struct><member><name>a</name><value/><value/></member></struct>", "one <name> and one <value>"),
        ("<struct><member><name>a</name><value/></member><member><name>a</name><value/></member></struct>", "duplicate struct member"),
    ])
    func invalidValue(_ value: String, _ message: String) {
        let fault = callFault(call(withValue: value))
        #expect(fault?.code == XMLRPCFault.invalidRequest)
        #expect(fault?.message.contains(message) == true, "\(String(describing: fault))")
    }

    @Test func faultMessageSaysWhere() {
        let document = bytes("""
            <?xml version="1.0"?>
            <methodCall>
              <methodName>x</methodName>
              <params>
                <param><value><int>1</int></value></param>
                <param><value><array><data><value><int>2</int></value><value><int>12x</int></value></data></array></value></param>
              </params>
            </methodCall>
            """)
        let fault = callFault(document)
        #expect(fault?.code == XMLRPCFault.invalidRequest)
        #expect(fault?.message == #"<int> is not an integer in range: "12x" (line 6, at /methodCall/params/param[2]/value/array/data/value[2]/int)"#)
    }

    @Test("invalid responses are -32600", arguments: [
        "<methodResponse/>", "<methodResponse><params/></methodResponse>",
        "<methodResponse><params><param><value/></param><param><value/></param></params></methodResponse>",
        "<methodResponse><params><param><value/></param></params><fault/></methodResponse>",
        "<methodResponse><fault/></methodResponse>",
        "<methodResponse><fault><value><int>1</int></value></fault></methodResponse>",
        "<methodResponse><fault><value><struct><member><name>faultCode</name><value><int>1</int></value></member></struct></value></fault></methodResponse>",
        "<methodResponse><fault><value><struct><member><name>faultCode</name><value>1</value></member><member><name>faultString</name><value>x</value></member></struct></value></fault></methodResponse>",
        "<methodCall><methodName>x</methodName></methodCall>",
    ])
    func invalidResponse(_ document: String) {
        #expect(throws: XMLRPCFault.self) { try XMLRPCDecoder.methodResponse(bytes(document)) }
        do {
            _ = try XMLRPCDecoder.methodResponse(bytes(document))
        } catch {
            #expect(error.code == XMLRPCFault.invalidRequest, "\(error)")
        }
    }
}
