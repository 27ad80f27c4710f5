import Testing
import XMLRPC

/// Documents exactly as Python 3.11's `xmlrpc.client.dumps` writes them.
@Suite("Documents from Python's xmlrpc.client")
struct PythonFixtureTests {
    /// `dumps((1, -2**31, 2**31-1, True, False, "héllo <&> ☎", 0.1, -0.0, 1e300, None), methodname="x", allow_none=True)`
    static let scalars = """
        <?xml version='1.0'?>
        <methodCall>
        <methodName>x</methodName>
        <params>
        <param>
        <value><int>1</int></value>
        </param>
        <param>
        <value><int>-2147483648</int></value>
        </param>
        <param>
        <value><int>2147483647</int></value>
        </param>
        <param>
        <value><boolean>1</boolean></value>
        </param>
        <param>
        <value><boolean>0</boolean></value>
        </param>
        <param>
        <value><string>héllo &lt;&amp;&gt; ☎</string></value>
        </param>
        <param>
        <value><double>0.1</double></value>
        </param>
        <param>
        <value><double>-0.0</double></value>
        </param>
        <param>
        <value><double>1e+300</double></value>
        </param>
        <param>
        <value><nil/></value></param>
        </params>
        </methodCall>

        """

    /// `dumps(({"a": [1, "two", {"nested": []}], "empty": {}, "s": ""}, DateTime(datetime(1998,7,17,14,8,55)),
    /// Binary(b"\x00\x01\xffhello world, this is a longer binary blob to force a line break maybe"*2)),
    /// methodname="widgets.list", allow_none=True)`
    static let nested = """
        <?xml version='1.0'?>
        <methodCall>
        <methodName>widgets.list</methodName>
        <params>
        <param>
        <value><struct>
        <member>
        <name>a</name>
        <value><array><data>
        <value><int>1</int></value>
        <value><string>two</string></value>
        <value><struct>
        <member>
        <name>nested</name>
        <value><array><data>
        </data></array></value>
        </member>
        </struct></value>
        </data></array></value>
        </member>
        <member>
        <name>empty</name>
        <value><struct>
        </struct></value>
        </member>
        <member>
        <name>s</name>
        <value><string></string></value>
        </member>
        </struct></value>
        </param>
        <param>
        <value><dateTime.iso8601>19980717T14:08:55</dateTime.iso8601></value>
        </param>
        <param>
        <value><base64>
        AAH/aGVsbG8gd29ybGQsIHRoaXMgaXMgYSBsb25nZXIgYmluYXJ5IGJsb2IgdG8gZm9yY2UgYSBs
        aW5lIGJyZWFrIG1heWJlAAH/aGVsbG8gd29ybGQsIHRoaXMgaXMgYSBsb25nZXIgYmluYXJ5IGJs
        b2IgdG8gZm9yY2UgYSBsaW5lIGJyZWFrIG1heWJl
        </base64></value>
        </param>
        </params>
        </methodCall>

        """

    /// `dumps(Fault(4, "Too many parameters."), methodresponse=True)`
    static let fault = """
        <?xml version='1.0'?>
        <methodResponse>
        <fault>
        <value><struct>
        <member>
        <name>faultCode</name>
        <value><int>4</int></value>
        </member>
        <member>
        <name>faultString</name>
        <value><string>Too many parameters.</string></value>
        </member>
        </struct></value>
        </fault>
        </methodResponse>

        """

    /// `dumps(({"ok": True},), methodresponse=True, allow_none=True)`
    static let response = """
        <?xml version='1.0'?>
        <methodResponse>
        <params>
        <param>
        <value><struct>
        <member>
        <name>ok</name>
        <value><boolean>1</boolean></value>
        </member>
        </struct></value>
        </param>
        </params>
        </methodResponse>

        """

    @Test func scalars() throws {
        let decoded = try XMLRPCDecoder.methodCall(bytes(Self.scalars))
        #expect(decoded.methodName == "x")
        #expect(decoded.params == [
            .int(1), .int(-2_147_483_648), .int(2_147_483_647), .bool(true), .bool(false), .string("héllo <&> ☎"),
            .double(0.1), .double(-0.0), .double(1e300), .nil,
        ])
    }

    @Test func nestedStructDateTimeAndBinary() throws {
        let decoded = try XMLRPCDecoder.methodCall(bytes(Self.nested))
        #expect(decoded.methodName == "widgets.list")
        let blob = Array([0x00, 0x01, 0xFF] + "hello world, this is a longer binary blob to force a line break maybe".utf8)
        #expect(decoded.params == [
            .structure(XMLRPCStruct([
                ("a", .array([.int(1), .string("two"), .structure(XMLRPCStruct([("nested", .array([]))]))])),
                ("empty", .structure(XMLRPCStruct())),
                ("s", .string("")),
            ])),
            .dateTime(XMLRPCDateTime(year: 1998, month: 7, day: 17, hour: 14, minute: 8, second: 55)!),
            .base64(blob + blob),
        ])
        // And what we write back decodes to the same.
        #expect(try XMLRPCDecoder.methodCall(XMLRPCEncoder.methodCall(decoded.methodName, params: decoded.params)) == decoded)
    }

    @Test func faultResponseIsThrown() {
        #expect(throws: XMLRPCFault(code: 4, message: "Too many parameters.")) {
            try XMLRPCDecoder.methodResponse(bytes(Self.fault))
        }
    }

    @Test func successResponse() throws {
        #expect(try XMLRPCDecoder.methodResponse(bytes(Self.response)) == .structure(XMLRPCStruct([("ok", .bool(true))])))
    }
}
