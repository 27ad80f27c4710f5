import Testing
@testable import SIP

@Suite("Non-INVITE client transaction (RFC 3261 §17.1.2)")
struct NonInviteClientTransactionTests {
    typealias Harness = TransactionHarness<SIPNonInviteClientTransaction>

    static func started(
        _ reliability: SIPTransportReliability = .unreliable,
        method: String = "BYE",
        timerValues: SIPTimerValues = SIPTimerValues()
    ) throws -> (Harness, SIPMessage) {
        let request = try TransactionFixtures.request(method, transport: reliability == .reliable ? "TLS" : "UDP")
        var harness = Harness(SIPNonInviteClientTransaction(request: request, reliability: reliability, timerValues: timerValues))
        harness.handle { $0.sendRequest() }
        return (harness, request)
    }

    @Test func sendingOnUDPStartsTimersEAndF() throws {
        let bye = try TransactionFixtures.request("BYE")
        var transaction = SIPNonInviteClientTransaction(request: bye, reliability: .unreliable)
        #expect(transaction.state == .idle)
        #expect(Array(transaction.sendRequest()) == [.send(bye), .startTimer(.e, after: .milliseconds(500)), .startTimer(.f, after: .seconds(32))])
        #expect(transaction.state == .trying)
        #expect(Array(transaction.sendRequest()).isEmpty)
    }

    @Test func sendingOnReliableTransportStartsOnlyTimerF() throws {
        let options = try TransactionFixtures.request("OPTIONS", transport: "TCP")
        var transaction = SIPNonInviteClientTransaction(request: options, reliability: .reliable)
        #expect(Array(transaction.sendRequest()) == [.send(options), .startTimer(.f, after: .seconds(32))])
    }

    /// Timer E: T1, then doubling but never above T2 (§17.1.2.2); Timer F at 64·T1.
    @Test func timerERetransmitsCappedAtT2UntilTimerF() throws {
        var (harness, request) = try Self.started()
        harness.runUntilIdle()
        #expect(harness.sendTimes == [0, 0.5, 1.5, 3.5, 7.5, 11.5, 15.5, 19.5, 23.5, 27.5, 31.5])
        #expect(harness.sent.allSatisfy { $0.message == request })
        #expect(harness.termination == .timeout)
        #expect(harness.terminatedAt == .seconds(32))
    }

    @Test func timerECapFollowsAConfiguredT2() throws {
        var (harness, _) = try Self.started(timerValues: SIPTimerValues(t1: .milliseconds(500), t2: .seconds(1)))
        harness.advance(to: .seconds(6))
        #expect(harness.sendTimes == [0, 0.5, 1.5, 2.5, 3.5, 4.5, 5.5])
    }

    @Test func proceedingRetransmitsEveryT2() throws {
        var (harness, request) = try Self.started()
        harness.advance(to: .milliseconds(200))
        let trying = TransactionFixtures.response(100, to: request)
        #expect(harness.handle { $0.receiveResponse(trying) } == [.deliverResponse(trying)])
        #expect(harness.machine.state == .proceeding)
        harness.advance(to: .seconds(13))
        // E was armed for 0.5 s; from Proceeding on it is reset to T2.
        #expect(harness.sendTimes == [0, 0.5, 4.5, 8.5, 12.5])
        let again = TransactionFixtures.response(100, to: request)
        #expect(harness.handle { $0.receiveResponse(again) } == [.deliverResponse(again)])
        harness.runUntilIdle()
        #expect(harness.termination == .timeout, "Timer F also applies in Proceeding")
        #expect(harness.terminatedAt == .seconds(32))
    }

    @Test(arguments: [200, 202, 302, 401, 481, 500, 603])
    func finalResponseCompletesAndAbsorbsRetransmissionsForT4(status: Int) throws {
        var (harness, request) = try Self.started()
        harness.advance(to: .seconds(1))
        let final = TransactionFixtures.response(status, to: request)
        #expect(harness.handle { $0.receiveResponse(final) } == [.deliverResponse(final), .cancelTimers([.e, .f]), .startTimer(.k, after: .seconds(5))])
        #expect(harness.machine.state == .completed)
        harness.advance(to: .seconds(3))
        #expect(harness.handle { $0.receiveResponse(final) }.isEmpty)
        #expect(harness.handle { $0.receiveResponse(TransactionFixtures.response(100, to: request)) }.isEmpty)
        #expect(harness.handle { $0.transportFailed() }.isEmpty)
        harness.runUntilIdle()
        #expect(harness.termination == .normal)
        #expect(harness.terminatedAt == .seconds(6))
        #expect(harness.deliveredResponses == [final])
        #expect(harness.sendTimes == [0, 0.5])
    }

    @Test func finalResponseFromProceeding() throws {
        var (harness, request) = try Self.started()
        harness.handle { $0.receiveResponse(TransactionFixtures.response(100, to: request)) }
        let ok = TransactionFixtures.response(200, to: request)
        #expect(harness.handle { $0.receiveResponse(ok) } == [.deliverResponse(ok), .cancelTimers([.e, .f]), .startTimer(.k, after: .seconds(5))])
    }

    @Test func timerKFollowsT4() throws {
        var (harness, request) = try Self.started(timerValues: SIPTimerValues(t4: .seconds(2)))
        let actions = harness.handle { $0.receiveResponse(TransactionFixtures.response(200, to: request)) }
        #expect(actions.last == .startTimer(.k, after: .seconds(2)))
    }

    @Test func finalResponseOnReliableTransportTerminatesAtOnce() throws {
        var (harness, request) = try Self.started(.reliable)
        let ok = TransactionFixtures.response(200, to: request)
        #expect(harness.handle { $0.receiveResponse(ok) } == [.deliverResponse(ok), .terminate(.normal)])
        #expect(harness.machine.state == .terminated)
        #expect(harness.handle { $0.receiveResponse(ok) }.isEmpty)
    }

    @Test func reliableTransportNeverRetransmitsAndTimesOutOnF() throws {
        var (harness, _) = try Self.started(.reliable)
        harness.runUntilIdle()
        #expect(harness.sendTimes == [0])
        #expect(harness.termination == .timeout)
    }

    @Test func transportErrorTerminatesTryingAndProceeding() throws {
        var (trying, request) = try Self.started()
        #expect(trying.handle { $0.transportFailed() } == [.terminate(.transportError)])
        #expect(trying.machine.state == .terminated)

        var (proceeding, _) = try Self.started()
        proceeding.handle { $0.receiveResponse(TransactionFixtures.response(100, to: request)) }
        #expect(proceeding.handle { $0.transportFailed() } == [.terminate(.transportError)])
        #expect(proceeding.handle { $0.timerFired(.e) }.isEmpty)
    }

    @Test func idleIgnoresResponsesAndTimers() throws {
        let request = try TransactionFixtures.request("INFO")
        var transaction = SIPNonInviteClientTransaction(request: request, reliability: .unreliable)
        #expect(Array(transaction.receiveResponse(TransactionFixtures.response(200, to: request))).isEmpty)
        #expect(Array(transaction.timerFired(.f)).isEmpty)
        #expect(Array(transaction.transportFailed()).isEmpty)
        #expect(transaction.state == .idle)
    }

    @Test func staleTimersAreIgnored() throws {
        var (harness, request) = try Self.started()
        harness.handle { $0.receiveResponse(TransactionFixtures.response(404, to: request)) }
        #expect(harness.handle { $0.timerFired(.e) }.isEmpty)
        #expect(harness.handle { $0.timerFired(.f) }.isEmpty)
        #expect(harness.machine.state == .completed)
    }
}
