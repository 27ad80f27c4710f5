@testable import Control
import Foundation
import Testing

@Suite struct IdentifierTests {
    @Test func identifiersHaveThePrefixAndAreOrderedByCreation() {
        var previous = ""
        for step in 0..<2000 {
            // Many in the same millisecond, then a later one: order must hold throughout.
            let id = Identifier.make("wid", millis: 1_700_000_000_000 + UInt64(step / 500))
            #expect(Identifier.isValid(id, prefix: "wid"), "\(id)")
            #expect(id > previous, "\(id) should sort after \(previous)")
            previous = id
        }
    }

    @Test(arguments: ["wid_", "wid_01M80QTCC5R7DF16VF0HZEMHV", "key_01M80QTCC5R7DF16VF0HZEMHVX", "wid_01M80QTCC5R7DF16VF0HZEMHVU", "wid-01M80QTCC5R7DF16VF0HZEMHVX"])
    func malformedIdentifiersAreRejected(_ text: String) {
        #expect(!Identifier.isValid(text, prefix: "wid"))
    }

    @Test func secretsAreLongRandomAndOnlyTheirDigestIsStable() {
        let a = Secret.generate(prefix: "sbk")
        let b = Secret.generate(prefix: "sbk")
        #expect(a != b)
        #expect(a.text.hasPrefix("sbk_"))
        #expect(a.text.count == 4 + 43)
        #expect(a.text.dropFirst(4).allSatisfy { $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" })
        #expect(a.digest.count == 64)
        #expect(a.digest == Secret(text: a.text).digest)
        #expect(a.digest != b.digest)
        #expect(!a.digest.contains(a.text))
    }

    @Test func base64URLMatchesRFC4648Vectors() {
        // RFC 4648 §10, unpadded, URL alphabet.
        #expect(Secret.base64URL(Array("f".utf8)) == "Zg")
        #expect(Secret.base64URL(Array("fo".utf8)) == "Zm8")
        #expect(Secret.base64URL(Array("foo".utf8)) == "Zm9v")
        #expect(Secret.base64URL(Array("foobar".utf8)) == "Zm9vYmFy")
        #expect(Secret.base64URL([0xFB, 0xFF]) == "-_8")
    }

    @Test func sha256DigestMatchesKnownVector() {
        #expect(Secret(text: "abc").digest == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
    }
}
