import Foundation
import NIOCore
@testable import SIP

/// The RFC 4475 §3 messages in `Fixtures/rfc4475/<name>.dat`, byte for byte.
enum RFC4475 {
    struct MissingFixture: Error { let name: String }

    static let valid = ["wsinv", "intmeth", "esc01", "escnull", "esc02", "lwsdisp", "longreq", "dblreq",
                        "semiuri", "transports", "mpart01", "unreason", "noreason"]
    static let invalid = ["badinv01", "clerr", "ncl", "scalar02", "scalarlg", "quotbal", "ltgtruri", "lwsruri",
                          "lwsstart", "trws", "escruri", "baddate", "regbadct", "badaspec", "baddn", "badvers",
                          "mismatch01", "mismatch02", "bigcode"]
    static let transaction = ["badbranch"]
    static let application = ["insuf", "unkscm", "novelsc", "unksm2", "bext01", "invut", "regaut01", "multi01",
                              "mcl01", "bcast", "zeromf", "cparam01", "cparam02", "regescrt", "sdp01"]
    static let backwardCompatibility = ["inv2543"]

    static var all: [String] { valid + invalid + transaction + application + backwardCompatibility }

    /// The messages that parse as they are.
    static let parseable = valid + ["baddate", "badbranch", "unkscm", "novelsc", "unksm2", "bext01", "invut",
                                    "regaut01", "bcast", "zeromf", "cparam01", "cparam02", "regescrt", "sdp01",
                                    "inv2543"]

    static func bytes(_ name: String) throws -> [UInt8] {
        guard let url = Bundle.module.url(forResource: name, withExtension: "dat", subdirectory: "Fixtures/rfc4475") else {
            throw MissingFixture(name: name)
        }
        return [UInt8](try Data(contentsOf: url))
    }

    static func message(_ name: String) throws -> SIPMessage {
        try SIPMessage.parse(datagram: bytes(name))
    }

    /// The parse error for a message that must fail, or nil when it unexpectedly parsed.
    static func failure(_ name: String) throws -> SIPParseError? {
        let data = try bytes(name)
        do throws(SIPParseError) {
            _ = try SIPMessage.parse(datagram: data)
            return nil
        } catch {
            return error
        }
    }

    static func text(_ buffer: ByteBuffer) -> String {
        String(decoding: buffer.readableBytesView, as: UTF8.self)
    }
}
