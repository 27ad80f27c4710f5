@testable import Control
import Foundation
import Testing

@Suite struct JSONLiteralTests {
    @Test(arguments: [
        ("plain", #""plain""#),
        ("", #""""#),
        ("say \"hi\"", #""say \"hi\"""#),
        (#"C:\path"#, #""C:\\path""#),
        ("line\nbreak\r\ttab", #""line\nbreak\r\ttab""#),
        ("\u{01}\u{1F}", #""\u0001\u001f""#),
        ("Zoë ☎︎ 📞", "\"Zoë ☎︎ 📞\""),
        ("\u{7F}</script>", "\"\u{7F}</script>\""),
    ])
    func quotesAsJSONWrites(text: String, expected: String) throws {
        let quoted = JSONLiteral.quote(text)
        #expect(quoted == expected)
        // Whatever it writes, a JSON parser reads back the same text.
        let parsed = try JSONSerialization.jsonObject(with: Data("[\(quoted)]".utf8)) as? [String]
        #expect(parsed == [text])
    }

    @Test func everyControlCharacterRoundTrips() throws {
        let text = String(decoding: (0..<0x20).map { UInt8($0) } + Array("\"\\ é".utf8), as: UTF8.self)
        let parsed = try JSONSerialization.jsonObject(with: Data("[\(JSONLiteral.quote(text))]".utf8)) as? [String]
        #expect(parsed == [text])
    }
}
