import NIOCore
import Testing
@testable import WebRTC

/// Builds the connectivity checks a browser sends.
struct Browser {
    var local: ICECredentials
    var remote: ICECredentials
    var nextID: UInt64 = 1

    /// A binding request addressed to `remote` (the gateway), as Chrome writes it.
    mutating func check(
        useCandidate: Bool = false,
        username: String? = nil,
        password: String? = nil,
        controlled: Bool = false,
        integrity: Bool = true,
        fingerprint: Bool = true,
        type: STUNMessageType = .bindingRequest,
        extra: STUNAttributeType? = nil
    ) throws -> [UInt8] {
        nextID += 1
        let username = username ?? "\(remote.usernameFragment):\(local.usernameFragment)"
        let key = STUNIntegrityKey.shortTerm(password: password ?? remote.password)
        return try STUNMessageWriter.encode(type: type, transactionID: STUNTransactionID(high: 7, low: nextID)) { writer throws(STUNEncodeError) in
            try writer.append(STUNAttributeType(rawValue: 0xC057), value: [0, 1, 0, 10])
            if !username.isEmpty { try writer.append(.username, text: username) }
            if controlled {
                try writer.appendICEControlled(tiebreaker: 0x1234)
            } else {
                try writer.appendICEControlling(tiebreaker: 0x1234)
            }
            if useCandidate { try writer.appendUseCandidate() }
            try writer.appendPriority(0x6E7F_1EFF)
            if let extra { try writer.append(extra, value: [1, 2, 3, 4]) }
            if integrity { try writer.appendMessageIntegrity(key: key) }
            if fingerprint { try writer.appendFingerprint() }
        }
    }
}

@Suite("ICE-lite agent")
struct ICELiteAgentTests {
    let gateway = try! ICECredentials(usernameFragment: "gw01", password: "gatewaypasswordof22chr")
    let browserCredentials = try! ICECredentials(usernameFragment: "br0wser+", password: "browser/password/24chrs")
    let start = NIODeadline.uptimeNanoseconds(1_000_000_000)
    let hostAddress = try! SocketAddress(ipAddress: "192.0.2.10", port: 50_000)
    let relayAddress = try! SocketAddress(ipAddress: "2001:db8::7", port: 3478)

    func makeAgent(remote: Bool = true) -> ICELiteAgent {
        ICELiteAgent(local: gateway, remote: remote ? browserCredentials : nil, now: start)
    }

    func makeBrowser() -> Browser {
        Browser(local: browserCredentials, remote: gateway)
    }

    /// The response in `action`, parsed, with its bytes.
    func response(_ action: ICEAction) throws -> (STUNMessage, [UInt8]) {
        let bytes = try #require(action.response).bytes
        return (try STUNMessage(parsing: bytes), bytes)
    }

    @Test func validCheckIsAnsweredWithMappedAddressIntegrityAndFingerprint() throws {
        var agent = makeAgent()
        var browser = makeBrowser()
        let request = try browser.check()
        let action = agent.receive(request, from: hostAddress, now: start + .milliseconds(5))
        #expect(action.outcome == .valid)
        #expect(action.event == nil)
        let (message, bytes) = try response(action)
        #expect(message.type == .bindingSuccess)
        #expect(message.transactionID == (try STUNMessage(parsing: request)).transactionID)
        #expect(try message.xorMappedAddress?.socketAddress() == hostAddress)
        #expect(message.verifyMessageIntegrity(in: bytes, key: STUNIntegrityKey.shortTerm(password: gateway.password)))
        #expect(message.verifyFingerprint(in: bytes))
        #expect(message.attributes.last?.type == .fingerprint)
        #expect(agent.selectedAddress == nil)
        #expect(agent.statistics.validChecks == 1)
        #expect(agent.state == .connected(lastValidCheck: start + .milliseconds(5)))
    }

    @Test func ipv6SourceIsMapped() throws {
        var agent = makeAgent()
        var browser = makeBrowser()
        let action = agent.receive(try browser.check(useCandidate: true), from: relayAddress, now: start)
        let (message, _) = try response(action)
        #expect(try message.xorMappedAddress?.socketAddress() == relayAddress)
        #expect(action.event == .selectedAddressChanged(relayAddress))
    }

    @Test func useCandidateNominatesAndALaterNominationReplacesIt() throws {
        var agent = makeAgent()
        var browser = makeBrowser()
        var action = agent.receive(try browser.check(useCandidate: true), from: hostAddress, now: start)
        #expect(action.event == .selectedAddressChanged(hostAddress))
        #expect(agent.selectedAddress == hostAddress)

        // The same nomination again changes nothing.
        action = agent.receive(try browser.check(useCandidate: true), from: hostAddress, now: start + .seconds(1))
        #expect(action.outcome == .valid)
        #expect(action.event == nil)

        // A check without USE-CANDIDATE from elsewhere is answered but does not move media.
        action = agent.receive(try browser.check(), from: relayAddress, now: start + .seconds(2))
        #expect(action.outcome == .valid)
        #expect(action.event == nil)
        #expect(agent.selectedAddress == hostAddress)

        // The browser moves to a relay.
        action = agent.receive(try browser.check(useCandidate: true), from: relayAddress, now: start + .seconds(3))
        #expect(action.event == .selectedAddressChanged(relayAddress))
        #expect(agent.selectedAddress == relayAddress)
        #expect(agent.statistics.nominations == 2)
        #expect(agent.statistics.validChecks == 4)
    }

    @Test func missingCredentialsAreABadRequest() throws {
        var agent = makeAgent()
        var browser = makeBrowser()
        for request in [try browser.check(username: ""), try browser.check(integrity: false)] {
            let action = agent.receive(request, from: hostAddress, now: start)
            #expect(action.outcome == .badRequest)
            let (message, bytes) = try response(action)
            #expect(message.type == .bindingError)
            #expect(message.errorCode?.code == 400)
            #expect(message.messageIntegrity == nil)
            #expect(message.verifyFingerprint(in: bytes))
        }
        #expect(agent.statistics.badRequests == 2)
        #expect(agent.state == .checking(since: start))
    }

    @Test func wrongCredentialsAreUnauthorized() throws {
        var agent = makeAgent()
        var browser = makeBrowser()
        let requests = [
            try browser.check(password: "not-the-gateway-password"),
            try browser.check(username: "gw02:\(browserCredentials.usernameFragment)"),
            try browser.check(username: "gw01:someoneelse"),
            try browser.check(username: "gw01:"),
            try browser.check(username: "gw01"),
            try browser.check(username: "\(browserCredentials.usernameFragment):gw01"),
        ]
        for request in requests {
            let action = agent.receive(request, from: hostAddress, now: start)
            #expect(action.outcome == .unauthorized)
            let (message, bytes) = try response(action)
            #expect(message.errorCode?.code == 401)
            #expect(message.errorReason(in: bytes) == "Unauthorized")
            #expect(message.messageIntegrity == nil)
        }
        #expect(agent.statistics.unauthorized == requests.count)
        #expect(agent.statistics.validChecks == 0)
    }

    @Test func anyRemoteFragmentIsAcceptedUntilTheRemoteCredentialsAreKnown() throws {
        var agent = makeAgent(remote: false)
        var browser = makeBrowser()
        #expect(agent.receive(try browser.check(username: "gw01:whoever"), from: hostAddress, now: start).outcome == .valid)
        agent.setRemoteCredentials(browserCredentials)
        #expect(agent.receive(try browser.check(username: "gw01:whoever"), from: hostAddress, now: start).outcome == .unauthorized)
        #expect(agent.receive(try browser.check(), from: hostAddress, now: start).outcome == .valid)
    }

    @Test func controlledPeerGetsRoleConflict() throws {
        var agent = makeAgent()
        var browser = makeBrowser()
        let action = agent.receive(try browser.check(useCandidate: true, controlled: true), from: hostAddress, now: start)
        #expect(action.outcome == .roleConflict)
        #expect(action.event == nil)
        let (message, bytes) = try response(action)
        #expect(message.errorCode?.code == 487)
        #expect(message.errorReason(in: bytes) == "Role Conflict")
        #expect(message.verifyMessageIntegrity(in: bytes, key: STUNIntegrityKey.shortTerm(password: gateway.password)))
        #expect(message.verifyFingerprint(in: bytes))
        #expect(agent.selectedAddress == nil)
        #expect(agent.statistics.roleConflicts == 1)
    }

    @Test func unknownComprehensionRequiredAttributeGets420() throws {
        var agent = makeAgent()
        var browser = makeBrowser()
        let action = agent.receive(try browser.check(extra: STUNAttributeType(rawValue: 0x0077)), from: hostAddress, now: start)
        #expect(action.outcome == .unknownAttributes)
        let (message, bytes) = try response(action)
        #expect(message.errorCode?.code == 420)
        let unknown = try #require(message.first(.unknownAttributes))
        #expect(STUNMessage.value(of: unknown, in: bytes) == [0x00, 0x77])
        #expect(message.verifyMessageIntegrity(in: bytes, key: STUNIntegrityKey.shortTerm(password: gateway.password)))
        // An unknown comprehension-optional attribute is fine.
        #expect(agent.receive(try browser.check(extra: STUNAttributeType(rawValue: 0x8077)), from: hostAddress, now: start).outcome == .valid)
    }

    @Test func indicationsResponsesAndGarbageAreDropped() throws {
        var agent = makeAgent()
        var browser = makeBrowser()
        let dropped: [([UInt8], ICECheckOutcome)] = [
            (try browser.check(type: .bindingIndication), .ignored),
            (try browser.check(type: .bindingSuccess), .ignored),
            (try browser.check(type: .bindingError), .ignored),
            (try browser.check(type: STUNMessageType(method: STUNMethod(rawValue: 0x003), messageClass: .request)), .ignored),
            ([0x16, 0xFE, 0xFD, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0], .malformed),
            (Array(try browser.check().dropLast(4)), .malformed),
        ]
        for (bytes, outcome) in dropped {
            let action = agent.receive(bytes, from: hostAddress, now: start)
            #expect(action.outcome == outcome)
            #expect(action.response == nil)
            #expect(action.event == nil)
        }
        // A corrupted fingerprint.
        var corrupted = try browser.check(useCandidate: true)
        corrupted[corrupted.count - 1] ^= 0xFF
        let action = agent.receive(corrupted, from: hostAddress, now: start)
        #expect(action.outcome == .malformed)
        #expect(agent.selectedAddress == nil)
        #expect(agent.statistics.ignored == 4)
        #expect(agent.statistics.malformed == 3)
        #expect(agent.state == .checking(since: start))
    }

    @Test func noConnectivityAfterTheConnectivityTimeout() throws {
        var agent = makeAgent()
        var browser = makeBrowser()
        #expect(agent.nextDeadline == start + .seconds(10))
        #expect(agent.tick(now: start + .seconds(9)) == nil)
        // Failed checks do not count.
        _ = agent.receive(try browser.check(password: "wrong-wrong-wrong-wrong"), from: hostAddress, now: start + .seconds(9))
        #expect(agent.nextDeadline == start + .seconds(10))
        #expect(agent.tick(now: start + .seconds(10)) == .noConnectivity)
        #expect(agent.state == .failed(.noConnectivity))
        #expect(agent.nextDeadline == nil)
        #expect(agent.tick(now: start + .seconds(60)) == nil)
        // A failed agent answers nothing.
        let late = agent.receive(try browser.check(useCandidate: true), from: hostAddress, now: start + .seconds(11))
        #expect(late.outcome == .ignored)
        #expect(late.response == nil)
        #expect(late.event == nil)
    }

    @Test func configurableTimeouts() throws {
        var agent = ICELiteAgent(
            local: gateway, remote: browserCredentials,
            configuration: .init(connectivityTimeout: .seconds(2), consentTimeout: .seconds(5)), now: start
        )
        var browser = makeBrowser()
        #expect(agent.nextDeadline == start + .seconds(2))
        _ = agent.receive(try browser.check(useCandidate: true), from: hostAddress, now: start + .seconds(1))
        #expect(agent.nextDeadline == start + .seconds(6))
        #expect(agent.tick(now: start + .milliseconds(5_999)) == nil)
        #expect(agent.tick(now: start + .seconds(6)) == .consentExpired)
    }

    @Test func consentIsRefreshedByChecksFromTheSelectedAddressOnly() throws {
        var agent = makeAgent()
        var browser = makeBrowser()
        _ = agent.receive(try browser.check(useCandidate: true), from: hostAddress, now: start + .seconds(1))
        #expect(agent.nextDeadline == start + .seconds(31))
        // Consent checks every few seconds keep it alive.
        for second in stride(from: 5, through: 60, by: 5) {
            #expect(agent.tick(now: start + .seconds(Int64(second))) == nil)
            #expect(agent.receive(try browser.check(), from: hostAddress, now: start + .seconds(Int64(second))).outcome == .valid)
        }
        #expect(agent.nextDeadline == start + .seconds(90))
        // Checks from another address are answered but do not refresh consent.
        #expect(agent.receive(try browser.check(), from: relayAddress, now: start + .seconds(80)).outcome == .valid)
        #expect(agent.nextDeadline == start + .seconds(90))
        #expect(agent.tick(now: start + .seconds(89)) == nil)
        #expect(agent.tick(now: start + .seconds(90)) == .consentExpired)
        #expect(agent.state == .failed(.consentExpired))
    }

    @Test func expiryIsReportedByReceiveWhenTheTickWasLate() throws {
        var agent = makeAgent()
        var browser = makeBrowser()
        _ = agent.receive(try browser.check(useCandidate: true), from: hostAddress, now: start)
        let action = agent.receive(try browser.check(), from: hostAddress, now: start + .seconds(45))
        #expect(action.event == .consentExpired)
        #expect(action.response == nil)
        #expect(agent.tick(now: start + .seconds(46)) == nil)
    }

    @Test func checksThatStopBeforeNominationMeanNoConnectivity() throws {
        var agent = makeAgent()
        var browser = makeBrowser()
        _ = agent.receive(try browser.check(), from: hostAddress, now: start + .seconds(1))
        #expect(agent.nextDeadline == start + .seconds(31))
        #expect(agent.tick(now: start + .seconds(31)) == .noConnectivity)
    }

    @Test func iceRestartKeepsTheSelectedAddressUntilANewNomination() throws {
        var agent = makeAgent()
        var browser = makeBrowser()
        _ = agent.receive(try browser.check(useCandidate: true), from: hostAddress, now: start)

        let newGateway = ICECredentials.random()
        let newBrowser = ICECredentials.random()
        agent.restart(local: newGateway, remote: newBrowser, now: start + .seconds(20))
        #expect(agent.selectedAddress == hostAddress)
        #expect(agent.localCredentials == newGateway)
        #expect(agent.remoteCredentials == newBrowser)

        // Old credentials no longer authenticate.
        #expect(agent.receive(try browser.check(useCandidate: true), from: relayAddress, now: start + .seconds(21)).outcome == .unauthorized)
        #expect(agent.selectedAddress == hostAddress)

        var restarted = Browser(local: newBrowser, remote: newGateway)
        // A check with the new credentials from the old address refreshes consent.
        var action = agent.receive(try restarted.check(), from: hostAddress, now: start + .seconds(22))
        #expect(action.outcome == .valid)
        #expect(action.event == nil)
        #expect(agent.nextDeadline == start + .seconds(52))
        let (message, bytes) = try response(action)
        #expect(message.verifyMessageIntegrity(in: bytes, key: STUNIntegrityKey.shortTerm(password: newGateway.password)))

        action = agent.receive(try restarted.check(useCandidate: true), from: relayAddress, now: start + .seconds(23))
        #expect(action.event == .selectedAddressChanged(relayAddress))
        #expect(agent.selectedAddress == relayAddress)
    }

    @Test func restartBeforeConnectivityRestartsTheConnectivityTimer() {
        var agent = makeAgent()
        agent.restart(local: ICECredentials.random(), remote: nil, now: start + .seconds(8))
        #expect(agent.nextDeadline == start + .seconds(18))
        #expect(agent.tick(now: start + .seconds(10)) == nil)
        #expect(agent.tick(now: start + .seconds(18)) == .noConnectivity)
    }
}

@Suite("ICE credentials and candidates")
struct ICECredentialsTests {
    @Test func validatesLengthsAndCharacters() throws {
        #expect(throws: ICECredentialsError.usernameFragmentLength(3)) { try ICECredentials(usernameFragment: "abc", password: String(repeating: "p", count: 22)) }
        #expect(throws: ICECredentialsError.passwordLength(21)) { try ICECredentials(usernameFragment: "abcd", password: String(repeating: "p", count: 21)) }
        #expect(throws: ICECredentialsError.usernameFragmentLength(257)) { try ICECredentials(usernameFragment: String(repeating: "u", count: 257), password: String(repeating: "p", count: 22)) }
        #expect(throws: ICECredentialsError.invalidCharacter) { try ICECredentials(usernameFragment: "ab:d", password: String(repeating: "p", count: 22)) }
        #expect(throws: ICECredentialsError.invalidCharacter) { try ICECredentials(usernameFragment: "abcd", password: String(repeating: "p", count: 21) + "-") }
        let valid = try ICECredentials(usernameFragment: "a+/9", password: "ABCDEFGHIJKLMNOPQRSTU/")
        #expect(valid.usernameFragment == "a+/9")
    }

    @Test func randomCredentialsAreValidAndDistinct() throws {
        var seen = Set<ICECredentials>()
        for _ in 0..<50 {
            let credentials = ICECredentials.random()
            let revalidated = try ICECredentials(usernameFragment: credentials.usernameFragment, password: credentials.password)
            #expect(revalidated == credentials)
            #expect(credentials.usernameFragment.count >= 4)
            #expect(credentials.password.count >= 22)
            seen.insert(credentials)
        }
        #expect(seen.count == 50)
    }

    @Test func hostCandidateForIPv4() throws {
        let candidate = try ICEHostCandidate(address: SocketAddress(ipAddress: "203.0.113.5", port: 20_000))
        #expect(candidate.priority == 2_130_706_431)
        #expect(candidate.sdpValue == "1 1 udp 2130706431 203.0.113.5 20000 typ host")
    }

    @Test func hostCandidateForIPv6() throws {
        let candidate = try ICEHostCandidate(address: SocketAddress(ipAddress: "2001:db8::5", port: 20_002), foundation: "2", localPreference: 65_534)
        #expect(candidate.priority == 126 << 24 | 65_534 << 8 | 255)
        #expect(candidate.sdpValue == "2 1 udp 2130706175 2001:db8::5 20002 typ host")
    }

    @Test func priorityFormula() {
        #expect(ICEHostCandidate.priority(typePreference: 126, localPreference: 65_535, componentID: 2) == 2_130_706_430)
        #expect(ICEHostCandidate.priority(typePreference: 0, localPreference: 0, componentID: 1) == 255)
        #expect(ICEHostCandidate.priority(typePreference: 100, localPreference: 10, componentID: 1) == 100 << 24 + 10 << 8 + 255)
    }

    @Test func rejectsBadCandidates() throws {
        let address = try SocketAddress(ipAddress: "203.0.113.5", port: 20_000)
        #expect(throws: ICECandidateError.invalidFoundation) { try ICEHostCandidate(address: address, foundation: "") }
        #expect(throws: ICECandidateError.invalidFoundation) { try ICEHostCandidate(address: address, foundation: "a b") }
        #expect(throws: ICECandidateError.invalidComponentID(0)) { try ICEHostCandidate(address: address, componentID: 0) }
        #expect(throws: ICECandidateError.notAnIPAddress) { try ICEHostCandidate(address: SocketAddress(unixDomainSocketPath: "/tmp/x")) }
    }
}
