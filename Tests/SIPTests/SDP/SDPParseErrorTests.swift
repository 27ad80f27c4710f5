import Testing

@testable import SIP

@Suite("SDP rejects bad input with typed errors")
struct SDPParseErrorTests {
    static let header = "v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=-\r\nc=IN IP4 192.0.2.1\r\nt=0 0\r\n"

    struct BadInput: Sendable, CustomTestStringConvertible {
        var name: String
        var text: String
        var expected: SDPParseError
        var testDescription: String { name }
    }

    static let badInputs: [BadInput] = [
        BadInput(name: "empty", text: "", expected: SDPParseError(.emptyInput)),
        BadInput(name: "only blank lines", text: "\r\n\n\r\n", expected: SDPParseError(.emptyInput)),
        BadInput(
            name: "missing v=",
            text: "o=- 1 1 IN IP4 192.0.2.1\r\ns=-\r\nt=0 0\r\n",
            expected: SDPParseError(.missingVersion, line: 1)
        ),
        BadInput(
            name: "v=1",
            text: "v=1\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=-\r\nt=0 0\r\n",
            expected: SDPParseError(.unsupportedVersion, line: 1)
        ),
        BadInput(name: "missing o=", text: "v=0\r\ns=-\r\nt=0 0\r\n", expected: SDPParseError(.missingField("o"))),
        BadInput(
            name: "missing s=",
            text: "v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\nt=0 0\r\n",
            expected: SDPParseError(.missingField("s"))
        ),
        BadInput(
            name: "missing t=",
            text: "v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=-\r\n",
            expected: SDPParseError(.missingField("t"))
        ),
        BadInput(
            name: "active media without c=",
            text: "v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=-\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\n",
            expected: SDPParseError(.missingField("c"), line: 5)
        ),
        BadInput(
            name: "duplicate o=",
            text: "v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=-\r\nt=0 0\r\n",
            expected: SDPParseError(.duplicateField("o"), line: 3)
        ),
        BadInput(name: "second v=", text: header + "v=0\r\n", expected: SDPParseError(.duplicateField("v"), line: 6)),
        BadInput(
            name: "t= inside media",
            text: header + "m=audio 4000 RTP/AVP 0\r\nt=0 0\r\n",
            expected: SDPParseError(.misplacedField("t"), line: 7)
        ),
        BadInput(name: "r= before t=", text: "v=0\r\nr=7d 1h 0\r\n", expected: SDPParseError(.misplacedField("r"), line: 2)),
        BadInput(name: "unknown line type", text: header + "x=1\r\n", expected: SDPParseError(.unknownLineType("x"), line: 6)),
        BadInput(name: "upper-case type", text: header + "A=foo\r\n", expected: SDPParseError(.malformedLine, line: 6)),
        BadInput(name: "no equals sign", text: header + "a:foo\r\n", expected: SDPParseError(.malformedLine, line: 6)),
        BadInput(name: "space before equals", text: header + "a =foo\r\n", expected: SDPParseError(.malformedLine, line: 6)),
        BadInput(name: "bad origin", text: "v=0\r\no=- 1 IN IP4\r\n", expected: SDPParseError(.invalidOrigin, line: 2)),
        BadInput(
            name: "non-numeric origin version",
            text: "v=0\r\no=- 1 two IN IP4 192.0.2.1\r\n",
            expected: SDPParseError(.invalidOrigin, line: 2)
        ),
        BadInput(
            name: "origin version overflow",
            text: "v=0\r\no=- 1 99999999999999999999999 IN IP4 192.0.2.1\r\n",
            expected: SDPParseError(.invalidOrigin, line: 2)
        ),
        BadInput(
            name: "bad connection",
            text: "v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=-\r\nc=IN IP4\r\n",
            expected: SDPParseError(.invalidConnection, line: 4)
        ),
        BadInput(name: "duplicate c=", text: header + "c=IN IP4 192.0.2.2\r\n", expected: SDPParseError(.duplicateField("c"), line: 6)),
        BadInput(
            name: "bad connection ttl",
            text: "v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=-\r\nc=IN IP4 224.2.1.1/ttl\r\n",
            expected: SDPParseError(.invalidConnection, line: 4)
        ),
        BadInput(name: "bad bandwidth", text: header + "b=AS:lots\r\n", expected: SDPParseError(.invalidBandwidth, line: 6)),
        BadInput(name: "bad timing", text: "v=0\r\nt=0\r\n", expected: SDPParseError(.invalidTiming, line: 2)),
        BadInput(name: "bad repeat", text: header + "r=7d 1x 0\r\n", expected: SDPParseError(.invalidRepeatTime, line: 6)),
        BadInput(name: "odd time zones", text: header + "z=2882844526\r\n", expected: SDPParseError(.invalidTimeZones, line: 6)),
        BadInput(name: "m line too short", text: header + "m=audio 4000\r\n", expected: SDPParseError(.invalidMediaLine, line: 6)),
        BadInput(
            name: "non-numeric port",
            text: header + "m=audio port RTP/AVP 0\r\n",
            expected: SDPParseError(.invalidPort, line: 6)
        ),
        BadInput(name: "port too large", text: header + "m=audio 65536 RTP/AVP 0\r\n", expected: SDPParseError(.invalidPort, line: 6)),
        BadInput(name: "negative port", text: header + "m=audio -1 RTP/AVP 0\r\n", expected: SDPParseError(.invalidPort, line: 6)),
        BadInput(
            name: "zero port count",
            text: header + "m=audio 4000/0 RTP/AVP 0\r\n",
            expected: SDPParseError(.invalidPort, line: 6)
        ),
        BadInput(
            name: "payload type out of range",
            text: header + "m=audio 4000 RTP/AVP 128\r\n",
            expected: SDPParseError(.invalidFormat, line: 6)
        ),
        BadInput(
            name: "non-numeric RTP format",
            text: header + "m=audio 4000 RTP/AVP PCMU\r\n",
            expected: SDPParseError(.invalidFormat, line: 6)
        ),
        BadInput(
            name: "invalid attribute name",
            text: header + "a=bad(name):1\r\n",
            expected: SDPParseError(.invalidAttribute(name: "bad(name)"), line: 6)
        ),
        BadInput(
            name: "bad rtpmap",
            text: header + "m=audio 4000 RTP/AVP 0\r\na=rtpmap:0 PCMU\r\n",
            expected: SDPParseError(.invalidAttribute(name: "rtpmap"), line: 7)
        ),
        BadInput(
            name: "rtpmap without value",
            text: header + "m=audio 4000 RTP/AVP 0\r\na=rtpmap\r\n",
            expected: SDPParseError(.invalidAttribute(name: "rtpmap"), line: 7)
        ),
        BadInput(
            name: "direction with a value",
            text: header + "a=sendonly:yes\r\n",
            expected: SDPParseError(.invalidAttribute(name: "sendonly"), line: 6)
        ),
        BadInput(
            name: "bad candidate",
            text: header + "m=audio 4000 RTP/AVP 0\r\na=candidate:1 1 udp 100 192.0.2.1 4000 host\r\n",
            expected: SDPParseError(.invalidAttribute(name: "candidate"), line: 7)
        ),
        BadInput(
            name: "bad setup",
            text: header + "a=setup:sometimes\r\n",
            expected: SDPParseError(.invalidAttribute(name: "setup"), line: 6)
        ),
        BadInput(
            name: "bad ptime",
            text: header + "m=audio 4000 RTP/AVP 0\r\na=ptime:twenty\r\n",
            expected: SDPParseError(.invalidAttribute(name: "ptime"), line: 7)
        ),
        BadInput(name: "NUL byte", text: header + "s\u{0}=x\r\n", expected: SDPParseError(.invalidCharacter, line: 6)),
        BadInput(name: "bare CR inside a line", text: header + "a=foo\rbar\r\n", expected: SDPParseError(.invalidCharacter, line: 6)),
        BadInput(name: "escape character", text: header + "i=\u{1B}[2J\r\n", expected: SDPParseError(.invalidCharacter, line: 6)),
    ]

    @Test("rejects", arguments: badInputs)
    func rejects(input: BadInput) {
        #expect(throws: input.expected) {
            try SDPSessionDescription(parsing: input.text)
        }
    }

    @Test func invalidUTF8IsRejected() {
        var bytes = Array(Self.header.utf8)
        bytes += Array("i=".utf8) + [0xC3, 0x28] + Array("\r\n".utf8)
        #expect(throws: SDPParseError(.invalidCharacter, line: 6)) {
            try SDPSessionDescription(parsing: bytes)
        }
    }

    @Test func validUTF8TextIsAccepted() throws {
        let sdp = try SDPSessionDescription(parsing: Self.header + "i=Anruf für Zoë 📞\r\n")
        #expect(sdp.information == "Anruf für Zoë 📞")
    }

    @Test("binary junk is rejected, never trapped on", arguments: [
        [0x00, 0xFF, 0xFE, 0x13, 0x37] as [UInt8],
        [0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x10, 0x4A, 0x46, 0x49, 0x46],
        Array("v=0\r\n".utf8) + [0x80, 0x81, 0x82, 0x0A],
        [0x76, 0x3D, 0x30, 0x0D],
        [0x0A, 0x0A, 0x3D, 0x0A],
    ])
    func binaryJunk(bytes: [UInt8]) {
        #expect(throws: SDPParseError.self) {
            try SDPSessionDescription(parsing: bytes)
        }
    }

    @Test func mutatedDescriptionsNeverTrap() {
        // Random byte edits of a valid description, from a fixed seed so failures reproduce.
        var state: UInt64 = 0x9E37_79B9_7F4A_7C15
        func next() -> Int {
            state ^= state << 13
            state ^= state >> 7
            state ^= state << 17
            return Int(truncatingIfNeeded: state >> 1)
        }
        let original = Array(SDPFixtures.chromeOffer.utf8)
        let interesting = Array(" =:/\r\n\u{0}0123456789".utf8) + [0xFF, 0xC3]
        var accepted = 0
        var rejected = 0
        for _ in 0..<1500 {
            var bytes = original
            for _ in 0..<(1 + next() % 3) {
                let position = next() % bytes.count
                switch next() % 3 {
                case 0: bytes[position] = interesting[next() % interesting.count]
                case 1: bytes.remove(at: position)
                default: bytes.insert(interesting[next() % interesting.count], at: position)
                }
            }
            do {
                let parsed = try SDPSessionDescription(parsing: bytes)
                accepted += 1
                // Anything accepted must survive a round trip unchanged.
                #expect(try SDPSessionDescription(parsing: parsed.serialized()) == parsed)
            } catch {
                rejected += 1
            }
        }
        // Both paths were exercised.
        #expect(accepted > 100)
        #expect(rejected > 100)
    }

    @Test func hugeInputIsRejectedBeforeParsing() {
        let huge = Self.header + String(repeating: "a=x-padding:0123456789abcdef\r\n", count: 4000)
        #expect(huge.utf8.count > SDPParsingLimits.default.maximumBytes)
        #expect(throws: SDPParseError(.inputTooLarge(limit: 64 * 1024))) {
            try SDPSessionDescription(parsing: huge)
        }
        #expect(throws: SDPParseError(.inputTooLarge(limit: 64 * 1024))) {
            try SDPSessionDescription(parsing: Array(huge.utf8))
        }
    }

    @Test func lineLimits() {
        let limits = SDPParsingLimits(maximumBytes: 1 << 20, maximumLines: 100, maximumLineLength: 200)
        let manyLines = Self.header + String(repeating: "a=x\r\n", count: 100)
        #expect(throws: SDPParseError(.tooManyLines(limit: 100))) {
            try SDPSessionDescription(parsing: manyLines, limits: limits)
        }
        let longLine = Self.header + "a=x:" + String(repeating: "y", count: 300) + "\r\n"
        #expect(throws: SDPParseError(.lineTooLong(limit: 200), line: 6)) {
            try SDPSessionDescription(parsing: longLine, limits: limits)
        }
        // Exactly at the limits is fine.
        let atLimit = Self.header + "a=x:" + String(repeating: "y", count: 196) + "\r\n"
        #expect(throws: Never.self) {
            try SDPSessionDescription(parsing: atLimit, limits: limits)
        }
    }

    @Test func mediaSectionLimit() {
        let limits = SDPParsingLimits(maximumMediaDescriptions: 3)
        let text = Self.header + String(repeating: "m=audio 0 RTP/AVP 0\r\n", count: 4)
        #expect(throws: SDPParseError(.tooManyMediaDescriptions(limit: 3), line: 9)) {
            try SDPSessionDescription(parsing: text, limits: limits)
        }
        #expect(throws: Never.self) {
            try SDPSessionDescription(parsing: Self.header + String(repeating: "m=audio 0 RTP/AVP 0\r\n", count: 3), limits: limits)
        }
    }

    @Test func errorDescriptionNamesTheLine() {
        #expect(SDPParseError(.invalidPort, line: 6).description == "SDP parse error on line 6: invalidPort")
    }
}
