import Foundation
import Testing

@testable import SRTP

/// A fresh directory under the system temporary directory, removed by the caller.
func temporaryDirectory(_ name: String) throws -> String {
    let path = NSTemporaryDirectory() + "switchboard-srtp-\(name)-\(UUID().uuidString)"
    try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    return path
}

@Suite struct DTLSCertificateTests {
    @Test func generatedCertificateHasAnSHA256FingerprintOfItsDER() throws {
        let certificate = try DTLSCertificate.generate()
        let fingerprint = certificate.fingerprint
        #expect(fingerprint.algorithm == .sha256)
        #expect(fingerprint.digest.count == 32)
        // Upper-case hex pairs joined by colons.
        #expect(fingerprint.hex.count == 32 * 3 - 1)
        #expect(fingerprint.hex.allSatisfy { "0123456789ABCDEF:".contains($0) })
        #expect(certificate.sdpFingerprint == "sha-256 " + fingerprint.hex)
        // Independent of how it is computed: from the DER bytes, the same digest.
        #expect(try DTLSFingerprint(algorithm: .sha256, derCertificate: certificate.derBytes) == fingerprint)
        #expect(certificate.certificatePEM.hasPrefix("-----BEGIN CERTIFICATE-----"))
        #expect(certificate.privateKeyPEM.hasPrefix("-----BEGIN PRIVATE KEY-----"))
        #expect(certificate.notAfter > Int64(Date().timeIntervalSince1970) + 300 * 86_400)
        // Two generations are two identities.
        #expect(try DTLSCertificate.generate().fingerprint != fingerprint)
    }

    @Test(arguments: DTLSFingerprint.Algorithm.allCases)
    func fingerprintOfDERForEachAlgorithm(algorithm: DTLSFingerprint.Algorithm) throws {
        let certificate = try DTLSCertificate.generate()
        let fromDER = try DTLSFingerprint(algorithm: algorithm, derCertificate: certificate.derBytes)
        #expect(fromDER.digest.count == algorithm.digestLength)
        #expect(try certificate.fingerprint(algorithm) == fromDER)
        #expect(DTLSFingerprint(sdpValue: fromDER.sdpValue) == fromDER)
        #expect(DTLSFingerprint(sdpValue: algorithm.rawValue.uppercased() + " " + fromDER.hex.lowercased()) == fromDER)
    }

    @Test func fingerprintMatchesTheOpenSSLCommandLine() throws {
        let directory = try temporaryDirectory("x509")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let certificate = try DTLSCertificate.loadOrCreate(directory: directory)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/openssl")
        process.arguments = ["x509", "-noout", "-fingerprint", "-sha256", "-in", directory + "/" + DTLSCertificate.certificateFileName]
        let output = Pipe()
        process.standardOutput = output
        try process.run()
        process.waitUntilExit()
        let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        #expect(text.trimmingCharacters(in: .whitespacesAndNewlines).hasSuffix("=" + certificate.fingerprint.hex))
    }

    @Test func malformedFingerprintsAreRefused() {
        #expect(DTLSFingerprint(sdpValue: "sha-256 AB:CD") == nil)
        #expect(DTLSFingerprint(sdpValue: "md5 " + Array(repeating: "AB", count: 16).joined(separator: ":")) == nil)
        #expect(DTLSFingerprint(algorithm: .sha1, hex: Array(repeating: "ZZ", count: 20).joined(separator: ":")) == nil)
        #expect(DTLSFingerprint(algorithm: .sha1, hex: Array(repeating: "ABC", count: 20).joined(separator: ":")) == nil)
        #expect(DTLSFingerprint(algorithm: .sha1, hex: Array(repeating: "AB", count: 20).joined(separator: ":")) != nil)
        #expect(DTLSFingerprint(sdpValue: "") == nil)
    }

    @Test func loadOrCreateReusesTheFilesAndKeepsTheFingerprint() throws {
        let directory = try temporaryDirectory("reuse") + "/dtls"
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let first = try DTLSCertificate.loadOrCreate(directory: directory)
        let keyPath = directory + "/" + DTLSCertificate.privateKeyFileName
        let attributes = try FileManager.default.attributesOfItem(atPath: keyPath)
        #expect((attributes[.posixPermissions] as? NSNumber)?.intValue == 0o600)
        let keyPEM = try String(contentsOfFile: keyPath, encoding: .utf8)
        #expect(keyPEM == first.privateKeyPEM)

        let second = try DTLSCertificate.loadOrCreate(directory: directory)
        #expect(second.fingerprint == first.fingerprint)
        #expect(second.derBytes == first.derBytes)
        #expect(try String(contentsOfFile: keyPath, encoding: .utf8) == keyPEM)
    }

    @Test func loadOrCreateRegeneratesWhenExpiredOrUnreadable() throws {
        let directory = try temporaryDirectory("renew")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let now = Int64(Date().timeIntervalSince1970)
        let original = try DTLSCertificate.loadOrCreate(directory: directory, now: now, validityDays: 30, renewalMarginDays: 1)

        // Still valid the next day: reused.
        let nextDay = try DTLSCertificate.loadOrCreate(directory: directory, now: now + 86_400, validityDays: 30, renewalMarginDays: 1)
        #expect(nextDay.fingerprint == original.fingerprint)

        // 29.5 days later it expires within the margin: a new identity is made and stored.
        let later = now + 29 * 86_400 + 43_200
        let renewed = try DTLSCertificate.loadOrCreate(directory: directory, now: later, validityDays: 30, renewalMarginDays: 1)
        #expect(renewed.fingerprint != original.fingerprint)
        #expect(renewed.notAfter > later + 29 * 86_400)
        let reloaded = try DTLSCertificate.loadOrCreate(directory: directory, now: later, validityDays: 30, renewalMarginDays: 1)
        #expect(reloaded.fingerprint == renewed.fingerprint)

        // A damaged certificate file: regenerated rather than failing.
        try "not a certificate".write(toFile: directory + "/" + DTLSCertificate.certificateFileName, atomically: true, encoding: .utf8)
        let repaired = try DTLSCertificate.loadOrCreate(directory: directory)
        #expect(repaired.fingerprint != renewed.fingerprint)
        #expect(try DTLSCertificate.loadOrCreate(directory: directory).fingerprint == repaired.fingerprint)

        // A key that belongs to another certificate: regenerated.
        let stranger = try DTLSCertificate.generate()
        try stranger.privateKeyPEM.write(toFile: directory + "/" + DTLSCertificate.privateKeyFileName, atomically: true, encoding: .utf8)
        let rekeyed = try DTLSCertificate.loadOrCreate(directory: directory)
        #expect(rekeyed.fingerprint != repaired.fingerprint)
        #expect(rekeyed.fingerprint != stranger.fingerprint)
    }

    @Test func loadRefusesMismatchedOrGarbagePEM() throws {
        let one = try DTLSCertificate.generate()
        let two = try DTLSCertificate.generate()
        #expect(throws: DTLSCertificateError.self) {
            try DTLSCertificate.load(privateKeyPEM: one.privateKeyPEM, certificatePEM: two.certificatePEM)
        }
        #expect(throws: DTLSCertificateError.self) {
            try DTLSCertificate.load(privateKeyPEM: "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n", certificatePEM: one.certificatePEM)
        }
        let again = try DTLSCertificate.load(privateKeyPEM: one.privateKeyPEM, certificatePEM: one.certificatePEM)
        #expect(again.fingerprint == one.fingerprint)
    }
}
