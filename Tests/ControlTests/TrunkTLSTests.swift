@testable import Control
import Foundation
import Testing

@Suite struct TrunkTLSTests {
    /// A DER SEQUENCE long enough to pass for a certificate body.
    static let pem = "-----BEGIN CERTIFICATE-----\n" + Data([0x30, 0x82] + Array(repeating: 0x01, count: 40)).base64EncodedString()
        + "\n-----END CERTIFICATE-----\n"

    @Test func certificateBundlesAreAccepted() {
        #expect(Trunk.TLS.caCertificatesProblem(Self.pem) == nil)
        #expect(Trunk.TLS.caCertificatesProblem("subject=CN=ca\n" + Self.pem + Self.pem) == nil)
    }

    @Test(arguments: [
        "",
        "not a certificate",
        "-----BEGIN CERTIFICATE-----\n!!!!\n-----END CERTIFICATE-----\n",
        "-----BEGIN CERTIFICATE-----\nMIIB\n",
        "-----BEGIN PRIVATE KEY-----\nMIIB\n-----END PRIVATE KEY-----\n",
    ])
    func otherTextIsRefused(_ text: String) {
        #expect(Trunk.TLS.caCertificatesProblem(text) != nil)
    }

    @Test func serverNamesAreDNSNames() {
        #expect(Trunk.TLS.serverNameProblem("sbc.callcentre.example.com") == nil)
        #expect(Trunk.TLS.serverNameProblem("localhost") == nil)
        for bad in ["10.0.0.1", "::1", "bad name", "-a.example", "a..example", String(repeating: "a", count: 64) + ".example"] {
            #expect(Trunk.TLS.serverNameProblem(bad) != nil, "\(bad)")
        }
    }
}
