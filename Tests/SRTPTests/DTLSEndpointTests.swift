import Foundation
import NIOCore
import Testing

@testable import SRTP

/// The two identities the tests use, made once.
let clientCertificate = Result { try DTLSCertificate.generate(commonName: "client") }
let serverCertificate = Result { try DTLSCertificate.generate(commonName: "server") }

/// A client and a server endpoint joined by an in-memory link that the test drives.
final class DTLSLink {
    enum Side: Hashable { case client, server }

    let client: DTLSEndpoint
    let server: DTLSEndpoint
    private(set) var events: [Side: [DTLSEvent]] = [.client: [], .server: []]
    private(set) var timers: [Side: NIODeadline] = [:]
    private(set) var sent: [Side: Int] = [.client: 0, .server: 0]
    private(set) var largestDatagram = 0
    /// Return true to lose the datagram; `index` counts the datagrams `side` has sent, from 0.
    var lose: (_ side: Side, _ index: Int, _ datagram: ByteBuffer) -> Bool = { _, _, _ in false }
    private var inFlight: [(to: Side, datagram: ByteBuffer)] = []

    init(
        clientProfiles: [SRTPProfile] = [.aeadAES128GCM, .aes128CMHMACSHA1_80],
        serverProfiles: [SRTPProfile] = [.aeadAES128GCM, .aes128CMHMACSHA1_80],
        clientExpects: DTLSFingerprint? = nil,
        serverExpects: DTLSFingerprint? = nil,
        mtu: Int = 1200,
        initialRetransmissionInterval: TimeAmount = .seconds(1),
        handshakeTimeout: TimeAmount = .seconds(20)
    ) throws {
        let clientIdentity = try clientCertificate.get()
        let serverIdentity = try serverCertificate.get()
        client = try DTLSEndpoint(configuration: .init(
            role: .client, certificate: clientIdentity, remoteFingerprint: clientExpects ?? serverIdentity.fingerprint,
            srtpProfiles: clientProfiles, mtu: mtu, handshakeTimeout: handshakeTimeout,
            initialRetransmissionInterval: initialRetransmissionInterval))
        server = try DTLSEndpoint(configuration: .init(
            role: .server, certificate: serverIdentity, remoteFingerprint: serverExpects ?? clientIdentity.fingerprint,
            srtpProfiles: serverProfiles, mtu: mtu, handshakeTimeout: handshakeTimeout,
            initialRetransmissionInterval: initialRetransmissionInterval))
    }

    func endpoint(_ side: Side) -> DTLSEndpoint { side == .client ? client : server }

    /// Takes an endpoint's output: records event and timer, queues datagrams for the other side.
    func take(_ output: DTLSOutput, from side: Side) {
        if let event = output.event { events[side, default: []].append(event) }
        timers[side] = output.nextTimer
        for datagram in output.datagrams {
            largestDatagram = max(largestDatagram, datagram.readableBytes)
            let index = sent[side, default: 0]
            sent[side] = index + 1
            if !lose(side, index, datagram) {
                inFlight.append((to: side == .client ? .server : .client, datagram: datagram))
            }
        }
    }

    /// Delivers queued datagrams until none is left.
    func deliver(now: NIODeadline) {
        while !inFlight.isEmpty {
            let (to, datagram) = inFlight.removeFirst()
            take(endpoint(to).receive(datagram, now: now), from: to)
        }
    }

    func start(now: NIODeadline) {
        take(server.start(now: now), from: .server)
        take(client.start(now: now), from: .client)
        deliver(now: now)
    }

    func fireTimer(_ side: Side, now: NIODeadline) {
        take(endpoint(side).timerFired(now: now), from: side)
        deliver(now: now)
    }

    func connectedKeys(_ side: Side) -> SRTPKeys? {
        for case .connected(let keys) in events[side, default: []] { return keys }
        return nil
    }

    func failure(_ side: Side) -> DTLSFailure? {
        for case .failed(let failure) in events[side, default: []] { return failure }
        return nil
    }

    /// Fires the earliest timer on the real clock (OpenSSL's retransmission timer reads it) until
    /// both sides are connected or failed, or `limit` passes.
    func runOnRealClock(limit: TimeAmount) {
        let end = NIODeadline.now() + limit
        while NIODeadline.now() < end {
            let settled = [client, server].allSatisfy { $0.state != .handshaking && $0.state != .idle }
            if settled { return }
            guard let (side, deadline) = timers.min(by: { $0.value < $1.value }) else { return }
            let wait = deadline - NIODeadline.now()
            if wait > .zero { usleep(UInt32(clamping: wait.nanoseconds / 1000)) }
            fireTimer(side, now: .now())
        }
    }
}

@Suite struct DTLSEndpointTests {
    let t0 = NIODeadline.uptimeNanoseconds(1_000_000_000_000)

    @Test func handshakeConnectsAndKeysMatchCrosswise() throws {
        let link = try DTLSLink()
        link.start(now: t0)
        let clientKeys = try #require(link.connectedKeys(.client))
        let serverKeys = try #require(link.connectedKeys(.server))
        #expect(link.client.state == .connected && link.server.state == .connected)
        #expect(clientKeys.profile == .aeadAES128GCM)
        #expect(serverKeys.profile == .aeadAES128GCM)
        #expect(clientKeys.local == serverKeys.remote)
        #expect(clientKeys.remote == serverKeys.local)
        #expect(clientKeys.local != clientKeys.remote)
        #expect(clientKeys.local.keyAndSalt.count == 28)
        #expect(link.largestDatagram <= 1200)
        // Connected: no handshake timer is left running on the client.
        #expect(link.client.keys == clientKeys)
    }

    @Test func bothRoleAssignmentsBetweenTheSameIdentities() throws {
        // The gateway's certificate as client (answering actpass), then as server (answering active).
        let gateway = try clientCertificate.get()
        let browser = try serverCertificate.get()
        for gatewayRole in [DTLSEndpoint.Role.client, .server] {
            let gatewayEndpoint = try DTLSEndpoint(configuration: .init(
                role: gatewayRole, certificate: gateway, remoteFingerprint: browser.fingerprint))
            let browserEndpoint = try DTLSEndpoint(configuration: .init(
                role: gatewayRole == .client ? .server : .client, certificate: browser, remoteFingerprint: gateway.fingerprint))
            var toBrowser = gatewayEndpoint.start(now: t0).datagrams
            var toGateway = browserEndpoint.start(now: t0).datagrams
            var gatewayEvents: [DTLSEvent] = []
            var browserEvents: [DTLSEvent] = []
            for _ in 0..<10 where !(toBrowser.isEmpty && toGateway.isEmpty) {
                var nextToGateway: [ByteBuffer] = []
                for datagram in toBrowser {
                    let output = browserEndpoint.receive(datagram, now: t0)
                    nextToGateway += output.datagrams
                    if let event = output.event { browserEvents.append(event) }
                }
                var nextToBrowser: [ByteBuffer] = []
                for datagram in toGateway + nextToGateway {
                    let output = gatewayEndpoint.receive(datagram, now: t0)
                    nextToBrowser += output.datagrams
                    if let event = output.event { gatewayEvents.append(event) }
                }
                toGateway = []
                toBrowser = nextToBrowser
            }
            guard case .connected(let gatewayKeys)? = gatewayEvents.first, case .connected(let browserKeys)? = browserEvents.first else {
                Issue.record("not connected as \(gatewayRole): \(gatewayEvents) \(browserEvents)")
                continue
            }
            #expect(gatewayKeys.local == browserKeys.remote)
            #expect(gatewayKeys.remote == browserKeys.local)
            #expect(gatewayKeys.profile == .aeadAES128GCM)
        }
    }

    @Test func exportedKeysProtectSRTPBetweenTheTwoSides() throws {
        let link = try DTLSLink()
        link.start(now: t0)
        let clientSession = try SRTPSession(keys: try #require(link.connectedKeys(.client)))
        let serverSession = try SRTPSession(keys: try #require(link.connectedKeys(.server)))
        let original: [UInt8] = [0x80, 0x6F, 0x00, 0x01, 0, 0, 0, 0, 0xCA, 0xFE, 0xBA, 0xBE] + Array(repeating: 0x55, count: 100)
        var buffer = ByteBuffer(bytes: original)
        try clientSession.protectRTP(&buffer)
        try serverSession.unprotectRTP(&buffer)
        #expect(Array(buffer.readableBytesView) == original)
        try serverSession.protectRTP(&buffer)
        try clientSession.unprotectRTP(&buffer)
        #expect(Array(buffer.readableBytesView) == original)
    }

    @Test func cm80IsChosenWhenOneSideOffersOnlyThat() throws {
        for (clientProfiles, serverProfiles) in [
            ([SRTPProfile.aes128CMHMACSHA1_80], [SRTPProfile.aeadAES128GCM, .aes128CMHMACSHA1_80]),
            ([.aeadAES128GCM, .aes128CMHMACSHA1_80], [.aes128CMHMACSHA1_80]),
        ] {
            let link = try DTLSLink(clientProfiles: clientProfiles, serverProfiles: serverProfiles)
            link.start(now: t0)
            #expect(link.connectedKeys(.client)?.profile == .aes128CMHMACSHA1_80)
            #expect(link.connectedKeys(.server)?.profile == .aes128CMHMACSHA1_80)
            #expect(link.connectedKeys(.client)?.local.keyAndSalt.count == 30)
        }
    }

    @Test func theServersPreferenceOrderApplies() throws {
        let gcmFirst = try DTLSLink(clientProfiles: [.aes128CMHMACSHA1_80, .aeadAES128GCM], serverProfiles: [.aeadAES128GCM, .aes128CMHMACSHA1_80])
        gcmFirst.start(now: t0)
        #expect(gcmFirst.connectedKeys(.client)?.profile == .aeadAES128GCM)
        let cmFirst = try DTLSLink(clientProfiles: [.aeadAES128GCM, .aes128CMHMACSHA1_80], serverProfiles: [.aes128CMHMACSHA1_80, .aeadAES128GCM])
        cmFirst.start(now: t0)
        #expect(cmFirst.connectedKeys(.client)?.profile == .aes128CMHMACSHA1_80)
    }

    @Test func noCommonProfileFailsBothSides() throws {
        let link = try DTLSLink(clientProfiles: [.aes128CMHMACSHA1_32], serverProfiles: [.aeadAES128GCM])
        link.start(now: t0)
        #expect(link.failure(.client) == .noCommonSRTPProfile)
        #expect(link.failure(.server) == .noCommonSRTPProfile)
        #expect(link.connectedKeys(.client) == nil && link.connectedKeys(.server) == nil)
    }

    @Test func serverDetectsAFingerprintMismatch() throws {
        let wrong = try DTLSCertificate.generate().fingerprint
        let link = try DTLSLink(serverExpects: wrong)
        link.start(now: t0)
        guard case .fingerprintMismatch(let expected, let actual)? = link.failure(.server) else {
            Issue.record("server events: \(link.events[.server] ?? [])")
            return
        }
        #expect(expected == wrong)
        #expect(actual == (try clientCertificate.get().fingerprint))
        #expect(link.server.state == .failed)
        #expect(link.connectedKeys(.client) == nil, "the client must not connect to a server that refused it")
        #expect(link.client.state != .connected)
    }

    @Test func clientDetectsAFingerprintMismatch() throws {
        let wrong = try DTLSCertificate.generate().fingerprint(.sha1)
        let link = try DTLSLink(clientExpects: wrong)
        link.start(now: t0)
        guard case .fingerprintMismatch(let expected, let actual)? = link.failure(.client) else {
            Issue.record("client events: \(link.events[.client] ?? [])")
            return
        }
        #expect(expected == wrong)
        #expect(actual == (try serverCertificate.get().fingerprint(.sha1)))
        #expect(link.connectedKeys(.server) == nil)
        #expect(link.connectedKeys(.client) == nil)
    }

    @Test func fingerprintIsCheckedWithTheAlgorithmSDPNamed() throws {
        let link = try DTLSLink(
            clientExpects: try serverCertificate.get().fingerprint(.sha512),
            serverExpects: try clientCertificate.get().fingerprint(.sha1))
        link.start(now: t0)
        #expect(link.connectedKeys(.client) != nil)
        #expect(link.connectedKeys(.server) != nil)
    }

    @Test func lostFirstFlightIsRetransmittedOnTheTimer() throws {
        let link = try DTLSLink(initialRetransmissionInterval: .milliseconds(30))
        link.lose = { side, index, _ in side == .client && index == 0 }
        let start = NIODeadline.now()
        link.start(now: start)
        #expect(link.sent[.client] == 1)
        #expect(link.client.state == .handshaking)
        let deadline = try #require(link.timers[.client])
        // The first interval, as OpenSSL counts it down from when it sent the ClientHello.
        #expect(deadline - start <= .milliseconds(31))
        #expect(deadline > start)
        link.runOnRealClock(limit: .seconds(3))
        #expect(link.sent[.client, default: 0] >= 3, "ClientHello again, then the client's second flight")
        #expect(link.connectedKeys(.client) != nil)
        #expect(link.connectedKeys(.server) != nil)
    }

    /// The interval is long enough that no retransmission happens before the loss under test,
    /// even on a loaded machine.
    @Test func lostLastFlightIsRecoveredByTheConnectedServer() throws {
        let link = try DTLSLink(initialRetransmissionInterval: .milliseconds(300))
        // Lose the server's last flight (ChangeCipherSpec, Finished) the first time it is sent.
        var lostOnce = false
        link.lose = { side, _, datagram in
            guard side == .server, !lostOnce, datagram.containsRecord(type: 20) else { return false }
            lostOnce = true
            return true
        }
        link.start(now: .now())
        #expect(link.server.state == .connected)
        #expect(link.client.state == .handshaking)
        link.runOnRealClock(limit: .seconds(3))
        #expect(lostOnce)
        let clientKeys = try #require(link.connectedKeys(.client))
        let serverKeys = try #require(link.connectedKeys(.server))
        #expect(clientKeys.local == serverKeys.remote && clientKeys.remote == serverKeys.local)
    }

    @Test func timerOnACallerClockAheadOfOpenSSLsDoesNotRetransmitEarly() throws {
        let link = try DTLSLink(initialRetransmissionInterval: .seconds(1))
        link.lose = { _, _, _ in true }
        link.start(now: t0)
        let deadline = try #require(link.timers[.client])
        #expect(deadline == t0 + .seconds(1) || (deadline > t0 + .milliseconds(900) && deadline <= t0 + .seconds(1)))
        // The caller's clock says the second has passed; OpenSSL's real clock does not.
        let output = link.client.timerFired(now: deadline)
        #expect(output.datagrams.isEmpty)
        let again = try #require(output.nextTimer)
        #expect(again > deadline, "armed again for the time OpenSSL still reports")
        #expect(link.client.state == .handshaking)
    }

    @Test func retransmissionIntervalBacksOffAndIsCapped() throws {
        let link = try DTLSLink(initialRetransmissionInterval: .milliseconds(100))
        let endpoint = link.client
        #expect(endpoint.retransmissionInterval(after: 0) == 100_000)
        #expect(endpoint.retransmissionInterval(after: 100_000) == 200_000)
        #expect(endpoint.retransmissionInterval(after: 32_000_000) == 60_000_000)
        #expect(endpoint.retransmissionInterval(after: 60_000_000) == 60_000_000)
        #expect(endpoint.retransmissionInterval(after: .max) == 60_000_000)
    }

    @Test func backoffDoublesOnTheWire() throws {
        let link = try DTLSLink(initialRetransmissionInterval: .milliseconds(25))
        link.lose = { _, _, _ in true }
        link.start(now: .now())
        let first = try #require(link.timers[.client])
        let wait = first - NIODeadline.now()
        if wait > .zero { usleep(UInt32(clamping: wait.nanoseconds / 1000) + 2000) }
        let fired = NIODeadline.now()
        let output = link.client.timerFired(now: fired)
        #expect(output.datagrams.count == 1, "the ClientHello again")
        let second = try #require(output.nextTimer)
        // Doubled: more than the first 25 ms, at most 50 ms.
        #expect(second - fired > .milliseconds(25))
        #expect(second - fired <= .milliseconds(51))
    }

    @Test func handshakeTimesOutWhenThePeerNeverAnswers() throws {
        for side in [DTLSLink.Side.client, .server] {
            let link = try DTLSLink(handshakeTimeout: .seconds(5))
            link.lose = { _, _, _ in true }
            link.start(now: t0)
            let endpoint = link.endpoint(side)
            let timer = try #require(link.timers[side])
            #expect(timer <= t0 + .seconds(5))
            #expect(endpoint.timerFired(now: t0 + .seconds(4)).event == nil)
            let output = endpoint.timerFired(now: t0 + .seconds(5))
            #expect(output.event == .failed(.timedOut))
            #expect(output.nextTimer == nil)
            #expect(endpoint.state == .failed)
            #expect(endpoint.timerFired(now: t0 + .seconds(6)).event == nil)
        }
    }

    @Test func garbageNeitherCrashesNorConnects() throws {
        var generator = SplitMix64(seed: 0x5EED)
        func noise(_ length: Int, first: UInt8? = nil, version: Bool = false) -> ByteBuffer {
            var bytes = (0..<length).map { _ in UInt8(truncatingIfNeeded: generator.next()) }
            if let first, !bytes.isEmpty { bytes[0] = first }
            if version, bytes.count >= 3 { bytes[1] = 0xFE; bytes[2] = 0xFD }
            return ByteBuffer(bytes: bytes)
        }
        // A server fed only noise, including records that look like DTLS 1.2 handshakes.
        let link = try DTLSLink()
        _ = link.server.start(now: t0)
        var events: [DTLSEvent] = []
        for index in 0..<400 {
            let length = Int(generator.next() % 300)
            let datagram = noise(length, first: index % 2 == 0 ? 22 : UInt8(20 + index % 44), version: index % 3 == 0)
            if let event = link.server.receive(datagram, now: t0).event { events.append(event) }
        }
        #expect(!events.contains { if case .connected = $0 { true } else { false } })
        #expect(link.server.state != .connected)

        // A handshake with non-DTLS noise between the real datagrams still completes.
        let noisy = try DTLSLink()
        _ = noisy.server.start(now: t0)
        for _ in 0..<50 { noisy.take(noisy.server.receive(noise(100, first: 25), now: t0), from: .server) }
        noisy.start(now: t0)
        for _ in 0..<50 { noisy.take(noisy.client.receive(noise(100, first: 63), now: t0), from: .client) }
        #expect(noisy.connectedKeys(.client) != nil)
        #expect(noisy.connectedKeys(.server) != nil)
        // Empty and oversized datagrams are ignored.
        #expect(noisy.client.receive(ByteBuffer(), now: t0).event == nil)
        #expect(noisy.client.receive(ByteBuffer(repeating: 23, count: 20_000), now: t0).event == nil)
        #expect(noisy.client.state == .connected)
    }

    @Test func closeNotifyClosesThePeer() throws {
        let link = try DTLSLink()
        link.start(now: t0)
        #expect(link.client.state == .connected)
        let output = link.client.close(now: t0)
        #expect(!output.datagrams.isEmpty)
        #expect(link.client.state == .closed)
        link.take(output, from: .client)
        link.deliver(now: t0)
        #expect(link.events[.server]?.last == .closed)
        #expect(link.server.state == .closed)
        #expect(link.client.receive(ByteBuffer(bytes: [21, 0xFE, 0xFD]), now: t0).event == nil)
    }

    @Test func smallMTUFragmentsTheHandshake() throws {
        let link = try DTLSLink(mtu: 300)
        link.start(now: t0)
        #expect(link.connectedKeys(.client) != nil)
        #expect(link.largestDatagram <= 300)
    }

    @Test func setupRefusesAnEmptyProfileList() throws {
        #expect(throws: DTLSFailure.self) {
            try DTLSEndpoint(configuration: .init(
                role: .client, certificate: try clientCertificate.get(),
                remoteFingerprint: try serverCertificate.get().fingerprint, srtpProfiles: []))
        }
        #expect(DTLSEndpoint.Role(answeringOfferedSetup: "actpass") == .client)
        #expect(DTLSEndpoint.Role(answeringOfferedSetup: "active") == .server)
        #expect(DTLSEndpoint.Role(answeringOfferedSetup: "holdconn") == nil)
    }
}

/// A small deterministic generator for reproducible noise.
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

extension ByteBuffer {
    /// Whether the datagram holds a DTLS record of that content type.
    func containsRecord(type: UInt8) -> Bool {
        let bytes = Array(readableBytesView)
        var offset = 0
        while offset + 13 <= bytes.count {
            if bytes[offset] == type { return true }
            offset += 13 + (Int(bytes[offset + 11]) << 8 | Int(bytes[offset + 12]))
        }
        return false
    }
}
