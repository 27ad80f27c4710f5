import Foundation
import NIOCore
import Testing

@testable import SRTP

#if canImport(Glibc)
import Glibc
#endif

private let opensslPath = "/usr/bin/openssl"

/// A UDP socket bound to 127.0.0.1 on an ephemeral port.
private final class LoopbackSocket {
    let descriptor: Int32

    init() throws {
        descriptor = socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
        guard descriptor >= 0 else { throw POSIXError(.EIO) }
        var address = Self.loopback(port: 0)
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0 else { throw POSIXError(.EADDRINUSE) }
    }

    deinit { close(descriptor) }

    static func loopback(port: UInt16) -> sockaddr_in {
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = port.bigEndian
        address.sin_addr.s_addr = UInt32(0x7F00_0001).bigEndian
        return address
    }

    var port: UInt16 {
        var address = sockaddr_in()
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(descriptor, $0, &length) }
        }
        return UInt16(bigEndian: address.sin_port)
    }

    func send(_ datagram: ByteBuffer, to port: UInt16) {
        var address = Self.loopback(port: port)
        datagram.withUnsafeReadableBytes { bytes in
            _ = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    sendto(descriptor, bytes.baseAddress, bytes.count, 0, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
                }
            }
        }
    }

    /// One datagram and its source port, or `nil` after `timeout`.
    func receive(timeout: TimeAmount) -> (ByteBuffer, UInt16)? {
        var poller = pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)
        let milliseconds = Int32(clamping: max(timeout.nanoseconds / 1_000_000, 1))
        guard poll(&poller, 1, milliseconds) == 1 else { return nil }
        var bytes = [UInt8](repeating: 0, count: 65_536)
        var address = sockaddr_in()
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let count = bytes.withUnsafeMutableBytes { buffer in
            withUnsafeMutablePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { recvfrom(descriptor, buffer.baseAddress, buffer.count, 0, $0, &length) }
            }
        }
        guard count > 0 else { return nil }
        return (ByteBuffer(bytes: bytes[0..<count]), UInt16(bigEndian: address.sin_port))
    }
}

/// An `openssl` command-line process whose output goes to a file the test polls.
private final class OpenSSLTool {
    let process = Process()
    let input = Pipe()
    let outputPath: String

    init(arguments: [String], directory: String) throws {
        outputPath = directory + "/openssl-output.txt"
        _ = FileManager.default.createFile(atPath: outputPath, contents: nil)
        let output = try FileHandle(forWritingTo: URL(fileURLWithPath: outputPath))
        process.executableURL = URL(fileURLWithPath: opensslPath)
        process.arguments = arguments
        process.standardInput = input  // kept open: end of input would close the DTLS connection
        process.standardOutput = output
        process.standardError = output
        try process.run()
    }

    var output: String { (try? String(contentsOfFile: outputPath, encoding: .utf8)) ?? "" }

    /// The first match of `pattern`'s first capture group in the output, waiting up to `limit`.
    func wait(for pattern: String, limit: TimeAmount) throws -> String? {
        let expression = try NSRegularExpression(pattern: pattern)
        let end = NIODeadline.now() + limit
        repeat {
            let text = output
            if let match = expression.firstMatch(in: text, range: NSRange(text.startIndex..., in: text)),
                let range = Range(match.range(at: 1), in: text)
            {
                return String(text[range])
            }
            usleep(20_000)
        } while NIODeadline.now() < end && process.isRunning
        return nil
    }

    /// Ends the process: SIGTERM, then SIGKILL if it is still there after a second.
    func stop() {
        let pid = process.processIdentifier
        guard pid > 0 else { return }
        _ = kill(pid, SIGTERM)
        let end = NIODeadline.now() + .seconds(1)
        while process.isRunning, NIODeadline.now() < end { usleep(10_000) }
        if process.isRunning { _ = kill(pid, SIGKILL) }
        try? input.fileHandleForWriting.close()
    }
}

/// Runs an endpoint over a real socket until it connects or fails, or `limit` passes.
private func drive(_ endpoint: DTLSEndpoint, socket: LoopbackSocket, peerPort: UInt16?, limit: TimeAmount) -> DTLSEvent? {
    var peerPort = peerPort
    var output = endpoint.start(now: .now())
    var timer = output.nextTimer
    let end = NIODeadline.now() + limit
    while NIODeadline.now() < end {
        if let port = peerPort {
            for datagram in output.datagrams { socket.send(datagram, to: port) }
        }
        if let event = output.event { return event }
        let now = NIODeadline.now()
        let wait = min((timer ?? end) - now, .milliseconds(50))
        if let (datagram, from) = socket.receive(timeout: wait) {
            peerPort = from
            output = endpoint.receive(datagram, now: .now())
            timer = output.nextTimer
        } else if let deadline = timer, NIODeadline.now() >= deadline {
            output = endpoint.timerFired(now: .now())
            timer = output.nextTimer
        } else {
            output = DTLSOutput(nextTimer: timer)
        }
    }
    return nil
}

/// A key pair made by the openssl tool, with the fingerprint the tool reports for it.
private func opensslIdentity(in directory: String) throws -> (certificate: String, key: String, fingerprint: DTLSFingerprint) {
    let certificate = directory + "/peer-certificate.pem"
    let key = directory + "/peer-key.pem"
    let make = Process()
    make.executableURL = URL(fileURLWithPath: opensslPath)
    make.arguments = [
        "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
        "-keyout", key, "-out", certificate, "-subj", "/CN=peer", "-days", "2",
    ]
    make.standardError = FileHandle.nullDevice
    try make.run()
    make.waitUntilExit()
    let fingerprint = Process()
    fingerprint.executableURL = URL(fileURLWithPath: opensslPath)
    fingerprint.arguments = ["x509", "-noout", "-fingerprint", "-sha256", "-in", certificate]
    let pipe = Pipe()
    fingerprint.standardOutput = pipe
    try fingerprint.run()
    fingerprint.waitUntilExit()
    let line = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    let hex = line.split(separator: "=").last.map { $0.trimmingCharacters(in: .whitespacesAndNewlines) } ?? ""
    let parsed = try #require(DTLSFingerprint(algorithm: .sha256, hex: hex))
    return (certificate, key, parsed)
}

/// Client key || salt and server key || salt from the exporter's output (RFC 5764 §4.2).
private func splitKeyingMaterial(_ hex: String, profile: SRTPProfile) -> (client: [UInt8], server: [UInt8]) {
    var bytes: [UInt8] = []
    var index = hex.startIndex
    while index < hex.endIndex, let next = hex.index(index, offsetBy: 2, limitedBy: hex.endIndex) {
        bytes.append(UInt8(hex[index..<next], radix: 16) ?? 0)
        index = next
    }
    let key = profile.masterKeyLength
    let salt = profile.masterSaltLength
    guard bytes.count == 2 * (key + salt) else { return ([], []) }
    let client = Array(bytes[0..<key] + bytes[(2 * key)..<(2 * key + salt)])
    let server = Array(bytes[key..<(2 * key)] + bytes[(2 * key + salt)...])
    return (client, server)
}

@Suite(.enabled(if: FileManager.default.isExecutableFile(atPath: opensslPath)), .serialized)
struct DTLSInteroperabilityTests {
    @Test(arguments: [
        (["SRTP_AEAD_AES_128_GCM", "SRTP_AES128_CM_SHA1_80"], SRTPProfile.aeadAES128GCM),
        (["SRTP_AES128_CM_SHA1_80"], SRTPProfile.aes128CMHMACSHA1_80),
    ])
    func gatewayClientAgainstOpenSSLServer(serverProfiles: [String], expected: SRTPProfile) throws {
        let directory = try temporaryDirectory("interop-server")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let peer = try opensslIdentity(in: directory)
        let length = 2 * expected.keyAndSaltLength
        let server = try OpenSSLTool(arguments: [
            "s_server", "-dtls1_2", "-accept", "127.0.0.1:0", "-cert", peer.certificate, "-key", peer.key,
            "-use_srtp", serverProfiles.joined(separator: ":"), "-verify", "1", "-naccept", "1",
            "-keymatexport", "EXTRACTOR-dtls_srtp", "-keymatexportlen", String(length),
        ], directory: directory)
        defer { server.stop() }
        let port = try #require(try server.wait(for: #"ACCEPT 127\.0\.0\.1:([0-9]+)"#, limit: .seconds(3)).flatMap { UInt16($0) })

        let gateway = try DTLSCertificate.generate()
        let endpoint = try DTLSEndpoint(configuration: .init(
            role: .client, certificate: gateway, remoteFingerprint: peer.fingerprint,
            initialRetransmissionInterval: .milliseconds(200)))
        let socket = try LoopbackSocket()
        let event = drive(endpoint, socket: socket, peerPort: port, limit: .seconds(5))
        guard case .connected(let keys)? = event else {
            Issue.record("not connected: \(String(describing: event)); s_server said: \(server.output)")
            return
        }
        #expect(keys.profile == expected)
        let negotiated = try server.wait(for: #"SRTP Extension negotiated, profile=([A-Z0-9_]+)"#, limit: .seconds(3))
        #expect(negotiated == expected.dtlsProfileName)
        let material = try #require(try server.wait(for: #"Keying material: ([0-9A-F]+)"#, limit: .seconds(3)))
        let (client, serverKey) = splitKeyingMaterial(material, profile: expected)
        #expect(keys.local.keyAndSalt == client)
        #expect(keys.remote.keyAndSalt == serverKey)
        // s_server saw the gateway's certificate.
        #expect(server.output.contains("Client certificate"))
    }

    @Test func gatewayServerAgainstOpenSSLClient() throws {
        let directory = try temporaryDirectory("interop-client")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let peer = try opensslIdentity(in: directory)
        let gateway = try DTLSCertificate.generate()
        let socket = try LoopbackSocket()
        let endpoint = try DTLSEndpoint(configuration: .init(
            role: .server, certificate: gateway, remoteFingerprint: peer.fingerprint,
            initialRetransmissionInterval: .milliseconds(200)))
        let client = try OpenSSLTool(arguments: [
            "s_client", "-dtls1_2", "-connect", "127.0.0.1:\(socket.port)", "-cert", peer.certificate, "-key", peer.key,
            // The client lists CM_80 first; the gateway, serving, applies its own order.
            "-use_srtp", "SRTP_AES128_CM_SHA1_80:SRTP_AEAD_AES_128_GCM",
            "-keymatexport", "EXTRACTOR-dtls_srtp", "-keymatexportlen", "56",
        ], directory: directory)
        defer { client.stop() }
        let event = drive(endpoint, socket: socket, peerPort: nil, limit: .seconds(5))
        guard case .connected(let keys)? = event else {
            Issue.record("not connected: \(String(describing: event)); s_client said: \(client.output)")
            return
        }
        #expect(keys.profile == .aeadAES128GCM)
        let material = try #require(try client.wait(for: #"Keying material: ([0-9A-F]+)"#, limit: .seconds(3)))
        let (clientKey, serverKey) = splitKeyingMaterial(material, profile: .aeadAES128GCM)
        #expect(keys.local.keyAndSalt == serverKey)
        #expect(keys.remote.keyAndSalt == clientKey)
        #expect(client.output.contains("SRTP Extension negotiated, profile=SRTP_AEAD_AES_128_GCM"))
    }

    @Test func gatewayClientRefusesAnOpenSSLServerWithAnotherFingerprint() throws {
        let directory = try temporaryDirectory("interop-mismatch")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let peer = try opensslIdentity(in: directory)
        let server = try OpenSSLTool(arguments: [
            "s_server", "-dtls1_2", "-accept", "127.0.0.1:0", "-cert", peer.certificate, "-key", peer.key,
            "-use_srtp", "SRTP_AEAD_AES_128_GCM", "-naccept", "1",
        ], directory: directory)
        defer { server.stop() }
        let port = try #require(try server.wait(for: #"ACCEPT 127\.0\.0\.1:([0-9]+)"#, limit: .seconds(3)).flatMap { UInt16($0) })
        let expected = try DTLSCertificate.generate().fingerprint
        let endpoint = try DTLSEndpoint(configuration: .init(
            role: .client, certificate: try DTLSCertificate.generate(), remoteFingerprint: expected,
            initialRetransmissionInterval: .milliseconds(200)))
        let event = drive(endpoint, socket: try LoopbackSocket(), peerPort: port, limit: .seconds(5))
        #expect(event == .failed(.fingerprintMismatch(expected: expected, actual: peer.fingerprint)))
    }
}
