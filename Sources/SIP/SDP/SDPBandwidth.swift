/// A `b=` line (RFC 8866 §5.8), for example `b=AS:64` or `b=TIAS:64000`.
public struct SDPBandwidth: Hashable, Sendable {
    /// `CT`, `AS`, `TIAS`, `RS`, `RR` or an extension token.
    public var type: String
    /// Kilobits per second for `CT`/`AS`, bits per second for `TIAS` (RFC 3890).
    public var value: UInt64

    public init(type: String, value: UInt64) {
        self.type = type
        self.value = value
    }

    init(parsing text: Substring) throws(SDPParseError) {
        let (type, value) = SDPGrammar.splitOnce(text, at: ":")
        guard SDPGrammar.isToken(type), let value, let number = SDPGrammar.decimal(value, as: UInt64.self) else {
            throw SDPParseError(.invalidBandwidth)
        }
        self.type = String(type)
        self.value = number
    }

    var fieldValue: String { "\(type):\(value)" }
}
