import Testing
import XMLRPC

@Suite("XML-RPC round trips")
struct RoundTripTests {
    static let scalars: [XMLRPCValue] = [
        .int(0), .int(1), .int(-1), .int(Int(Int32.max)), .int(Int(Int32.min)), .int(Int(Int32.max) + 1),
        .int(Int(Int32.min) - 1), .int(.max), .int(.min),
        .bool(true), .bool(false),
        .string(""), .string("plain"), .string("  leading and trailing  "), .string("tab\tnewline\nreturn\r\ncrlf"),
        .string("a < b && c > d ]]> \"quoted\" 'apos'"), .string("héllo wörld ☎ 日本語 🎉 \u{10FFFF}"),
        .double(0), .double(0.1), .double(-0.0), .double(1e300), .double(-1e300), .double(.leastNonzeroMagnitude), .double(1e-5),
        .double(.greatestFiniteMagnitude), .double(-.greatestFiniteMagnitude), .double(.leastNormalMagnitude),
        .double(1.0 / 3.0), .double(123_456.789), .double(1e16), .double(2.5e-10), .double(9_007_199_254_740_992),
        .dateTime(XMLRPCDateTime(secondsSince1970: 0)), .dateTime(XMLRPCDateTime(secondsSince1970: 900_684_535)),
        .dateTime(XMLRPCDateTime(year: 9999, month: 12, day: 31, hour: 23, minute: 59, second: 59)!),
        .dateTime(XMLRPCDateTime(year: 0, month: 1, day: 1)!), .dateTime(XMLRPCDateTime(year: 2024, month: 2, day: 29, hour: 12)!),
        .base64([]), .base64([0]), .base64([0, 1]), .base64([0, 1, 2]), .base64(Array(0...255)),
        .array([]), .structure(XMLRPCStruct()), .nil,
    ]

    @Test("every scalar survives a methodCall and a methodResponse", arguments: scalars)
    func scalar(_ value: XMLRPCValue) throws {
        #expect(try roundTrip([value]) == [value])
        #expect(try responseRoundTrip(value) == value)
    }

    @Test func allScalarsInOneCall() throws {
        #expect(try roundTrip(Self.scalars) == Self.scalars)
    }

    @Test func negativeZeroKeepsItsSign() throws {
        let decoded = try roundTrip([.double(-0.0)])
        guard case .double(let value) = decoded.first else { Issue.record("not a double"); return }
        #expect(value == 0 && value.sign == .minus)
    }

    @Test func nestedStructsAndArrays() throws {
        var inner = XMLRPCStruct()
        inner["id"] = .int(42)
        inner["tags"] = .array([.string("a"), .string(""), .array([]), .structure(XMLRPCStruct())])
        inner["when"] = .dateTime(XMLRPCDateTime(secondsSince1970: 1_700_000_000))
        let outer: XMLRPCValue = .structure(XMLRPCStruct([
            ("widget", .structure(inner)),
            ("list", .array([.structure(inner), .nil, .array([.array([.int(1)])])])),
            ("empty name", .string("")),
            ("", .string("member with an empty name")),
            ("<&>", .base64([1, 2, 3])),
        ]))
        #expect(try roundTrip([outer, outer]) == [outer, outer])
        #expect(try responseRoundTrip(outer) == outer)
    }

    @Test func structKeepsMemberOrderAndOneMemberPerName() {
        var structure = XMLRPCStruct([("b", .int(1)), ("a", .int(2)), ("b", .int(3))])
        #expect(structure.names == ["b", "a"])
        #expect(structure["b"] == .int(3))
        structure["c"] = .nil
        structure["a"] = nil
        #expect(structure.names == ["b", "c"])
        #expect(structure != XMLRPCStruct([("c", .nil), ("b", .int(3))]))
        #expect(structure == ["b": .int(3), "c": .nil])
    }

    @Test func intSerialisesAsIntWithin32BitsAndI8Beyond() {
        #expect(text(XMLRPCEncoder.value(.int(2_147_483_647))) == "<value><int>2147483647</int></value>")
        #expect(text(XMLRPCEncoder.value(.int(-2_147_483_648))) == "<value><int>-2147483648</int></value>")
        #expect(text(XMLRPCEncoder.value(.int(2_147_483_648))) == "<value><i8>2147483648</i8></value>")
        #expect(text(XMLRPCEncoder.value(.int(-2_147_483_649))) == "<value><i8>-2147483649</i8></value>")
    }

    @Test func integerElementsAndExtensions() throws {
        #expect(try XMLRPCDecoder.methodCall(call(withValue: "<i4>-7</i4>")).params == [.int(-7)])
        #expect(try XMLRPCDecoder.methodCall(call(withValue: "<i8>9223372036854775807</i8>")).params == [.int(.max)])
        #expect(try XMLRPCDecoder.methodCall(call(withValue: "<int> +12 </int>")).params == [.int(12)])
        #expect(try XMLRPCDecoder.methodCall(call(withValue: "<int>-9223372036854775808</int>")).params == [.int(.min)])
        // The Apache extensions namespace, declared or not.
        let declared = bytes("""
            <?xml version="1.0"?><methodCall xmlns:ex="http://ws.apache.org/xmlrpc/namespaces/extensions">\
            <methodName>x</methodName><params><param><value><ex:i8>5000000000</ex:i8></value></param>\
            <param><value><ex:nil/></value></param></params></methodCall>
            """)
        #expect(try XMLRPCDecoder.methodCall(declared).params == [.int(5_000_000_000), .nil])
        #expect(try XMLRPCDecoder.methodCall(call(withValue: "<ex:i8>-1</ex:i8>")).params == [.int(-1)])
        #expect(try XMLRPCDecoder.methodCall(call(withValue: "<ex:nil/>")).params == [.nil])
    }

    @Test func doublesAreWrittenWithoutExponent() {
        for value in [1e300, .leastNonzeroMagnitude, 1e-5, 1e16, .greatestFiniteMagnitude, 2.5e-10, -1e22] {
            let written = XMLRPCEncoder.doubleText(value)
            #expect(!written.contains("e") && !written.contains("E"), "\(written)")
            #expect(Double(written) == value)
        }
        #expect(XMLRPCEncoder.doubleText(0.1) == "0.1")
        #expect(XMLRPCEncoder.doubleText(-0.0) == "-0.0")
        #expect(XMLRPCEncoder.doubleText(1e300) == "1" + String(repeating: "0", count: 300) + ".0")
        #expect(XMLRPCEncoder.doubleText(1e-5) == "0.00001")
        #expect(XMLRPCEncoder.doubleText(.nan) == "0.0")
    }

    @Test func doublesInExponentNotationAreRead() throws {
        #expect(try XMLRPCDecoder.methodCall(call(withValue: "<double>1e+300</double>")).params == [.double(1e300)])
        #expect(try XMLRPCDecoder.methodCall(call(withValue: "<double>-2.5E-3</double>")).params == [.double(-0.0025)])
        #expect(try XMLRPCDecoder.methodCall(call(withValue: "<double>.5</double>")).params == [.double(0.5)])
        #expect(try XMLRPCDecoder.methodCall(call(withValue: "<double>7.</double>")).params == [.double(7)])
        #expect(try XMLRPCDecoder.methodCall(call(withValue: "<double>1e-400</double>")).params == [.double(0)])
    }

    @Test func dateTimeFormatsAndOffsets() throws {
        let expected = XMLRPCValue.dateTime(XMLRPCDateTime(year: 1998, month: 7, day: 17, hour: 14, minute: 8, second: 55)!)
        for form in [
            "19980717T14:08:55", "1998-07-17T14:08:55", "19980717T140855", "1998-07-17T14:08:55Z",
            "1998-07-17T16:08:55+02:00", "1998-07-17T09:38:55-04:30", "19980717T16:08:55+0200", "19980717T15:08:55+01",
            "1998-07-17T14:08:55.999Z", " 19980717T14:08:55\n",
        ] {
            #expect(try XMLRPCDecoder.methodCall(call(withValue: "<dateTime.iso8601>\(form)</dateTime.iso8601>")).params == [expected], "\(form)")
        }
        #expect(text(XMLRPCEncoder.value(expected)) == "<value><dateTime.iso8601>19980717T14:08:55</dateTime.iso8601></value>")
        // An offset that crosses midnight and a year boundary.
        let crossing = try XMLRPCDecoder.methodCall(call(withValue: "<dateTime.iso8601>2000-01-01T00:30:00+01:00</dateTime.iso8601>"))
        #expect(crossing.params.first?.dateTimeValue?.iso8601 == "19991231T23:30:00")
        #expect(XMLRPCDateTime(secondsSince1970: -1).iso8601 == "19691231T23:59:59")
        #expect(XMLRPCDateTime(iso8601: "20240229T00:00:00") != nil)
        #expect(XMLRPCDateTime(iso8601: "20230229T00:00:00") == nil)
    }

    @Test func base64ToleratesWhitespace() throws {
        let decoded = try XMLRPCDecoder.methodCall(call(withValue: "<base64>\n AAEC\r\n\tAwQ= \n</base64>"))
        #expect(decoded.params == [.base64([0, 1, 2, 3, 4])])
        #expect(try XMLRPCDecoder.methodCall(call(withValue: "<base64></base64>")).params == [.base64([])])
        #expect(try XMLRPCDecoder.methodCall(call(withValue: "<base64>AAECAw</base64>")).params == [.base64([0, 1, 2, 3])])
    }

    @Test func untypedTextIsAString() throws {
        #expect(try XMLRPCDecoder.methodCall(call(withValue: "plain text")).params == [.string("plain text")])
        #expect(try XMLRPCDecoder.methodCall(call(withValue: "")).params == [.string("")])
        #expect(try XMLRPCDecoder.methodCall(call(withValue: "  ")).params == [.string("  ")])
        #expect(try XMLRPCDecoder.methodCall(call(withValue: "a &amp; <![CDATA[<b>]]> c&#x263A;")).params == [.string("a & <b> c☺")])
        #expect(try XMLRPCDecoder.methodCall(call(withValue: "\n  <!-- note -->\n  <int>1</int>\n")).params == [.int(1)])
    }

    @Test func escapingAndForbiddenCharacters() throws {
        let written = text(XMLRPCEncoder.methodCall("a&b<c>", params: [.string("<&>\r")]))
        #expect(written.hasPrefix("<?xml version=\"1.0\"?>"))
        #expect(written.contains("<methodName>a&amp;b&lt;c&gt;</methodName>"))
        #expect(written.contains("<string>&lt;&amp;&gt;&#13;</string>"))
        // Characters XML 1.0 forbids become U+FFFD: the output stays well-formed.
        let forbidden = "nul\u{0}bell\u{7}esc\u{1B}nonchar\u{FFFE}\u{FFFF}end"
        let call = try XMLRPCDecoder.methodCall(XMLRPCEncoder.methodCall("m\u{2}", params: [.string(forbidden), .structure(XMLRPCStruct([("\u{1}", .nil)]))]))
        #expect(call.methodName == "m\u{FFFD}")
        let decoded = call.params
        #expect(decoded[0] == .string("nul\u{FFFD}bell\u{FFFD}esc\u{FFFD}nonchar\u{FFFD}\u{FFFD}end"))
        #expect(decoded[1] == .structure(XMLRPCStruct([("\u{FFFD}", .nil)])))
    }

    @Test func faultRoundTrip() {
        let fault = XMLRPCFault(code: XMLRPCFault.methodNotFound, message: "no method <widgets.nope> & no luck")
        let written = text(XMLRPCEncoder.fault(fault))
        #expect(written.contains("<name>faultCode</name><value><int>-32601</int></value>"))
        #expect(written.contains("<name>faultString</name><value><string>"))
        #expect(throws: fault) { try XMLRPCDecoder.methodResponse(XMLRPCEncoder.fault(fault)) }
    }

    @Test func callWithoutParams() throws {
        let decoded = try XMLRPCDecoder.methodCall(bytes("<methodCall><methodName> system.listMethods </methodName></methodCall>"))
        #expect(decoded == XMLRPCMethodCall(methodName: "system.listMethods", params: []))
        #expect(try roundTrip([]) == [])
    }
}
