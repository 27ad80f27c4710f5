import Foundation

extension Trunk.TLS {
    /// The largest CA bundle a trunk takes.
    public static let maxCACertificatesBytes = 64 * 1024

    /// Why `text` is not a PEM bundle of certificates, or nil when it is: one or more
    /// `CERTIFICATE` blocks whose base64 bodies hold DER (text between blocks is ignored, as
    /// `openssl` writes it). A private key is refused: it does not belong in a trust setting.
    /// The signalling plane parses the certificates themselves when it connects.
    public static func caCertificatesProblem(_ text: String) -> String? {
        guard text.utf8.count <= maxCACertificatesBytes else { return "must be at most \(maxCACertificatesBytes) bytes" }
        if text.contains("PRIVATE KEY-----") { return "contains a private key; only CA certificates belong here" }
        let begin = "-----BEGIN CERTIFICATE-----"
        let end = "-----END CERTIFICATE-----"
        var rest = Substring(text)
        var count = 0
        while let start = rest.range(of: begin) {
            guard let stop = rest.range(of: end, range: start.upperBound..<rest.endIndex) else {
                return "certificate \(count + 1) has no \(end) line"
            }
            let body = rest[start.upperBound..<stop.lowerBound].filter { !$0.isWhitespace }
            guard let der = Data(base64Encoded: String(body)), der.count > 16, der.first == 0x30 else {
                return "certificate \(count + 1) is not base64-encoded DER"
            }
            count += 1
            rest = rest[stop.upperBound...]
        }
        return count == 0 ? "must hold PEM certificates (\(begin) … \(end))" : nil
    }

    /// Why `name` cannot be the name a certificate is checked against, or nil: a DNS name
    /// (an IP address is checked without one).
    public static func serverNameProblem(_ name: String) -> String? {
        if IPNetwork(name) != nil, !name.contains("/") { return "must be a DNS name; an IP address in the URI is checked as it is" }
        let labels = name.split(separator: ".", omittingEmptySubsequences: false)
        let valid = name.utf8.count <= 253 && !labels.isEmpty
            && labels.allSatisfy { label in
                (1...63).contains(label.utf8.count) && label.first != "-" && label.last != "-"
                    && label.utf8.allSatisfy { byte in
                        (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte | 0x20) || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) || byte == UInt8(ascii: "-")
                    }
            }
        return valid ? nil : "\(name) is not a DNS name"
    }
}
