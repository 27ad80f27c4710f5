/// The ICE username fragment and password of one side of a session (RFC 8445 §5.3; SDP
/// `a=ice-ufrag` and `a=ice-pwd`, RFC 8839 §5.4).
///
/// Both are made of ice-chars (ALPHA, DIGIT, `+`, `/`); the fragment has 4–256 of them, the
/// password 22–256.
public struct ICECredentials: Sendable, Hashable {
    /// `ice-ufrag`.
    public let usernameFragment: String
    /// `ice-pwd`: the key of MESSAGE-INTEGRITY on checks addressed to this side.
    public let password: String

    /// Credentials from SDP values, validated.
    public init(usernameFragment: String, password: String) throws(ICECredentialsError) {
        guard (4...256).contains(usernameFragment.utf8.count) else { throw .usernameFragmentLength(usernameFragment.utf8.count) }
        guard (22...256).contains(password.utf8.count) else { throw .passwordLength(password.utf8.count) }
        guard usernameFragment.utf8.allSatisfy(Self.isICEChar), password.utf8.allSatisfy(Self.isICEChar) else {
            throw .invalidCharacter
        }
        self.usernameFragment = usernameFragment
        self.password = password
    }

    /// Fresh random credentials: an 8-character fragment and a 24-character password
    /// (144 bits), from the system's secure generator.
    public static func random() -> ICECredentials {
        var generator = SystemRandomNumberGenerator()
        return random(using: &generator)
    }

    /// Fresh random credentials from `generator`.
    public static func random(using generator: inout some RandomNumberGenerator) -> ICECredentials {
        func text(_ count: Int) -> String {
            String(decoding: (0..<count).map { _ in alphabet[Int(generator.next(upperBound: UInt(alphabet.count)))] }, as: UTF8.self)
        }
        // Lengths and characters are in range by construction.
        return ICECredentials(unchecked: text(8), password: text(24))
    }

    private init(unchecked usernameFragment: String, password: String) {
        self.usernameFragment = usernameFragment
        self.password = password
    }

    private static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)

    static func isICEChar(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
             UInt8(ascii: "+"), UInt8(ascii: "/"):
            return true
        default:
            return false
        }
    }
}

/// Why an `ice-ufrag` / `ice-pwd` pair was rejected.
public enum ICECredentialsError: Error, Sendable, Hashable {
    /// The username fragment is not 4–256 characters long.
    case usernameFragmentLength(Int)
    /// The password is not 22–256 characters long.
    case passwordLength(Int)
    /// A character other than ALPHA, DIGIT, `+` or `/`.
    case invalidCharacter
}
