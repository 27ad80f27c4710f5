import Testing
@testable import SIP

@Suite("Non-INVITE server transaction (RFC 3261 §17.2.2)")
struct NonInviteServerTransactionTests {
    typealias Harness = TransactionHarness<SIPNonInviteServerTransaction>

    static func received(_ reliability: SIPTransportReliability = .unreliable, method: String = "BYE") throws -> (Harness, SIPMessage) {
        let request = try TransactionFixtures.request(method, branch: TransactionFixtures.serverBranch, transport: reliability == .reliable ? "WSS" : "UDP")
        var harness = Harness(SIPNonInviteServerTransaction(request: request, reliability: reliability))
        harness.handle { $0.receiveRequest() }
        return (harness, request)
    }

    @Test func newRequestGoesToTheTU() throws {
        let bye = try TransactionFixtures.request("BYE")
        var transaction = SIPNonInviteServerTransaction(request: bye, reliability: .unreliable)
        #expect(transaction.state == .idle)
        #expect(Array(transaction.receiveRequest()) == [.deliverRequest(bye)])
        #expect(transaction.state == .trying)
        #expect(Array(transaction.receiveRequest()).isEmpty)
    }

    @Test func tryingAbsorbsRetransmissions() throws {
        var (harness, _) = try Self.received()
        #expect(harness.handle { $0.receiveRetransmission() }.isEmpty)
        #expect(harness.handle { $0.transportFailed() }.isEmpty, "nothing has been sent yet")
        #expect(harness.machine.state == .trying)
        #expect(harness.deliveredRequests.count == 1, "retransmissions never reach the TU")
    }

    @Test func proceedingResendsTheLatestProvisional() throws {
        var (harness, request) = try Self.received()
        let trying = TransactionFixtures.response(100, to: request)
        #expect(harness.handle { $0.sendResponse(trying) } == [.send(trying)])
        #expect(harness.machine.state == .proceeding)
        #expect(harness.handle { $0.receiveRetransmission() } == [.send(trying)])
        #expect(harness.timers.isEmpty, "no timer runs in Trying or Proceeding")
    }

    @Test(arguments: [200, 202, 400, 481, 500])
    func finalResponseCompletesForTimerJ(status: Int) throws {
        var (harness, request) = try Self.received()
        harness.advance(to: .seconds(1))
        let final = TransactionFixtures.response(status, to: request)
        #expect(harness.handle { $0.sendResponse(final) } == [.send(final), .startTimer(.j, after: .seconds(32))])
        #expect(harness.machine.state == .completed)
        harness.advance(to: .seconds(20))
        #expect(harness.handle { $0.receiveRetransmission() } == [.send(final)])
        #expect(harness.handle { $0.sendResponse(TransactionFixtures.response(500, to: request)) }.isEmpty, "one final response only")
        #expect(harness.handle { $0.sendResponse(TransactionFixtures.response(100, to: request)) }.isEmpty)
        harness.runUntilIdle()
        #expect(harness.termination == .normal)
        #expect(harness.terminatedAt == .seconds(33))
        #expect(harness.sent.map(\.message) == [final, final])
    }

    @Test func finalResponseAfterProvisional() throws {
        var (harness, request) = try Self.received()
        harness.handle { $0.sendResponse(TransactionFixtures.response(100, to: request)) }
        let ok = TransactionFixtures.response(200, to: request)
        #expect(harness.handle { $0.sendResponse(ok) } == [.send(ok), .startTimer(.j, after: .seconds(32))])
        #expect(harness.handle { $0.receiveRetransmission() } == [.send(ok)])
    }

    @Test func timerJFollowsT1() throws {
        let request = try TransactionFixtures.request("OPTIONS")
        var transaction = SIPNonInviteServerTransaction(request: request, reliability: .unreliable, timerValues: SIPTimerValues(t1: .milliseconds(250)))
        _ = transaction.receiveRequest()
        let ok = TransactionFixtures.response(200, to: request)
        #expect(Array(transaction.sendResponse(ok)) == [.send(ok), .startTimer(.j, after: .seconds(16))])
    }

    @Test func reliableTransportTerminatesWithTheFinalResponse() throws {
        var (harness, request) = try Self.received(.reliable)
        let ok = TransactionFixtures.response(200, to: request)
        #expect(harness.handle { $0.sendResponse(ok) } == [.send(ok), .terminate(.normal)])
        #expect(harness.machine.state == .terminated)
        #expect(harness.handle { $0.receiveRetransmission() }.isEmpty)
    }

    @Test func transportErrorTerminatesProceedingAndCompleted() throws {
        var (proceeding, request) = try Self.received()
        proceeding.handle { $0.sendResponse(TransactionFixtures.response(100, to: request)) }
        #expect(proceeding.handle { $0.transportFailed() } == [.terminate(.transportError)])

        var (completed, _) = try Self.received()
        completed.handle { $0.sendResponse(TransactionFixtures.response(200, to: request)) }
        #expect(completed.handle { $0.transportFailed() } == [.terminate(.transportError)])
        #expect(completed.timers.isEmpty)
        #expect(completed.handle { $0.timerFired(.j) }.isEmpty)
    }

    @Test func idleIgnoresEverything() throws {
        let request = try TransactionFixtures.request("MESSAGE")
        var transaction = SIPNonInviteServerTransaction(request: request, reliability: .unreliable)
        #expect(Array(transaction.sendResponse(TransactionFixtures.response(200, to: request))).isEmpty)
        #expect(Array(transaction.receiveRetransmission()).isEmpty)
        #expect(Array(transaction.timerFired(.j)).isEmpty)
        #expect(transaction.state == .idle)
    }

    @Test func responsesOutsideTheStatusRangeAreIgnored() throws {
        var (harness, _) = try Self.received()
        #expect(harness.handle { $0.sendResponse(.response(statusCode: 700)) }.isEmpty)
        #expect(harness.machine.state == .trying)
    }
}
