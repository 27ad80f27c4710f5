import Testing
@testable import SIP

@Suite("INVITE server transaction (RFC 3261 §17.2.1, RFC 6026)")
struct InviteServerTransactionTests {
    typealias Harness = TransactionHarness<SIPInviteServerTransaction>

    static func received(
        _ reliability: SIPTransportReliability = .unreliable,
        timestamp: String? = nil,
        timerValues: SIPTimerValues = SIPTimerValues()
    ) throws -> (Harness, SIPMessage) {
        let invite = try TransactionFixtures.incomingInvite(transport: reliability == .reliable ? "TCP" : "UDP", timestamp: timestamp)
        var harness = Harness(SIPInviteServerTransaction(request: invite, reliability: reliability, timerValues: timerValues))
        harness.handle { $0.receiveRequest() }
        return (harness, invite)
    }

    @Test func newInviteGoesToTheTUAndArmsTheTryingTimer() throws {
        let invite = try TransactionFixtures.incomingInvite()
        var transaction = SIPInviteServerTransaction(request: invite, reliability: .unreliable)
        #expect(transaction.state == .idle)
        #expect(Array(transaction.receiveRequest()) == [.deliverRequest(invite), .startTimer(.trying, after: .milliseconds(200))])
        #expect(transaction.state == .proceeding)
        #expect(Array(transaction.receiveRequest()).isEmpty)
    }

    @Test func slowTUGetsA100TryingSentForIt() throws {
        var (harness, invite) = try Self.received(timestamp: "54.3 0.1")
        #expect(harness.handle { $0.receiveRetransmission() }.isEmpty, "nothing to resend yet")
        harness.advance(to: .milliseconds(199))
        #expect(harness.sent.isEmpty)
        harness.advance(to: .milliseconds(200))
        let trying = try #require(harness.sent.first?.message)
        #expect(harness.sendTimes == [0.2])
        #expect(trying.statusCode == 100)
        #expect(try trying.to.tag == nil)
        #expect(trying.headers[.timestamp] == "54.3 0.1")
        #expect(try trying.vias.count == 2)
        #expect(try trying.cseq == SIPCSeq(sequence: 101, method: .invite))
        #expect(trying.callID == invite.callID)
        #expect(harness.machine.lastResponse == trying)
        // A retransmitted INVITE gets the 100 again.
        #expect(harness.handle { $0.receiveRetransmission() } == [.send(trying)])
        #expect(harness.machine.state == .proceeding)
    }

    @Test func tryingDelayIsConfigurable() throws {
        var (harness, _) = try Self.received(timerValues: SIPTimerValues(tryingDelay: .milliseconds(50)))
        harness.advance(to: .milliseconds(50))
        #expect(harness.sendTimes == [0.05])
    }

    @Test func promptProvisionalResponseCancelsTheTryingTimer() throws {
        var (harness, invite) = try Self.received()
        harness.advance(to: .milliseconds(120))
        let ringing = TransactionFixtures.response(180, to: invite)
        #expect(harness.handle { $0.sendResponse(ringing) } == [.send(ringing), .cancelTimers(.trying)])
        harness.advance(to: .seconds(2))
        #expect(harness.sent.map(\.message) == [ringing], "no 100 Trying after the TU answered")
        let progress = TransactionFixtures.response(183, to: invite)
        #expect(harness.handle { $0.sendResponse(progress) } == [.send(progress)])
        #expect(harness.handle { $0.receiveRetransmission() } == [.send(progress)], "the most recent provisional is resent")
        #expect(try harness.handle { $0.receiveACK(try TransactionFixtures.incomingACK()) }.isEmpty)
        #expect(harness.machine.state == .proceeding)
    }

    @Test(arguments: [SIPTransportReliability.unreliable, .reliable])
    func successResponseMovesToAcceptedForTimerL(reliability: SIPTransportReliability) throws {
        var (harness, invite) = try Self.received(reliability)
        harness.advance(to: .milliseconds(300))
        let ok = TransactionFixtures.response(200, to: invite)
        #expect(harness.handle { $0.sendResponse(ok) } == [.send(ok), .startTimer(.l, after: .seconds(32))])
        #expect(harness.machine.state == .accepted)
        harness.runUntilIdle()
        #expect(harness.termination == .normal)
        #expect(harness.terminatedAt == .milliseconds(32_300))
    }

    @Test func acceptedAbsorbsInviteRetransmissionsAndPassesACKsToTheTU() throws {
        var (harness, invite) = try Self.received()
        let ok = TransactionFixtures.response(200, to: invite)
        #expect(harness.handle { $0.sendResponse(ok) } == [.send(ok), .cancelTimers(.trying), .startTimer(.l, after: .seconds(32))])
        harness.advance(to: .seconds(1))
        // RFC 6026: the retransmitted INVITE is absorbed, neither answered nor passed on.
        #expect(harness.handle { $0.receiveRetransmission() }.isEmpty)
        // The TU (dialog) retransmits its 2xx through the transaction.
        #expect(harness.handle { $0.sendResponse(ok) } == [.send(ok)])
        #expect(harness.handle { $0.sendResponse(TransactionFixtures.response(180, to: invite)) }.isEmpty)
        #expect(harness.handle { $0.sendResponse(TransactionFixtures.response(486, to: invite)) }.isEmpty)
        let ack = try TransactionFixtures.incomingACK()
        #expect(harness.handle { $0.receiveACK(ack) } == [.deliverRequest(ack)])
        #expect(harness.handle { $0.receiveACK(ack) } == [.deliverRequest(ack)])
        #expect(harness.machine.state == .accepted)
        harness.runUntilIdle()
        #expect(harness.termination == .normal)
        #expect(harness.deliveredRequests == [invite, ack, ack])
        #expect(harness.sent.map(\.message) == [ok, ok])
    }

    /// Timer G: T1, doubling up to T2; Timer H gives up at 64·T1 (§17.2.1).
    @Test func failureResponseIsRetransmittedOnTimerGUntilTimerH() throws {
        var (harness, invite) = try Self.received()
        harness.advance(to: .milliseconds(200))
        let trying = try #require(harness.sent.first?.message)
        harness.advance(to: .seconds(1))
        let busy = TransactionFixtures.response(486, to: invite)
        #expect(harness.handle { $0.sendResponse(busy) } == [
            .send(busy), .startTimer(.g, after: .milliseconds(500)), .startTimer(.h, after: .seconds(32)),
        ])
        #expect(harness.machine.state == .completed)
        harness.runUntilIdle()
        #expect(harness.sendTimes == [0.2, 1, 1.5, 2.5, 4.5, 8.5, 12.5, 16.5, 20.5, 24.5, 28.5, 32.5])
        #expect(harness.sent.dropFirst().allSatisfy { $0.message == busy })
        #expect(harness.sent.first?.message == trying)
        #expect(harness.termination == .timeout, "no ACK arrived")
        #expect(harness.terminatedAt == .seconds(33))
    }

    @Test func completedAnswersInviteRetransmissionsWithTheFinalResponse() throws {
        var (harness, invite) = try Self.received()
        let unavailable = TransactionFixtures.response(480, to: invite)
        harness.handle { $0.sendResponse(unavailable) }
        harness.advance(to: .milliseconds(100))
        #expect(harness.handle { $0.receiveRetransmission() } == [.send(unavailable)])
        #expect(harness.handle { $0.sendResponse(TransactionFixtures.response(200, to: invite)) }.isEmpty, "one final response only")
        #expect(harness.handle { $0.sendResponse(TransactionFixtures.response(180, to: invite)) }.isEmpty)
        #expect(harness.machine.lastResponse == unavailable)
    }

    @Test func ackConfirmsAndTimerIAbsorbsRetransmissions() throws {
        var (harness, invite) = try Self.received()
        harness.handle { $0.sendResponse(TransactionFixtures.response(404, to: invite)) }
        harness.advance(to: .seconds(2))
        let ack = try TransactionFixtures.incomingACK()
        #expect(harness.handle { $0.receiveACK(ack) } == [.cancelTimers([.g, .h]), .startTimer(.i, after: .seconds(5))])
        #expect(harness.machine.state == .confirmed)
        let sentBefore = harness.sent.count
        #expect(harness.handle { $0.receiveACK(ack) }.isEmpty)
        #expect(harness.handle { $0.receiveRetransmission() }.isEmpty)
        #expect(harness.handle { $0.transportFailed() }.isEmpty, "Confirmed sends nothing")
        harness.runUntilIdle()
        #expect(harness.sent.count == sentBefore, "Timer G stopped with the ACK")
        #expect(harness.termination == .normal)
        #expect(harness.terminatedAt == .seconds(7))
        #expect(harness.deliveredRequests == [invite], "the ACK for a non-2xx stays in the transaction")
    }

    @Test func timerIFollowsT4() throws {
        var (harness, invite) = try Self.received(timerValues: SIPTimerValues(t4: .seconds(3)))
        harness.handle { $0.sendResponse(TransactionFixtures.response(500, to: invite)) }
        let actions = try harness.handle { $0.receiveACK(try TransactionFixtures.incomingACK()) }
        #expect(actions.last == .startTimer(.i, after: .seconds(3)))
    }

    @Test func reliableTransportSkipsTimerGAndEndsOnTheACK() throws {
        var (harness, invite) = try Self.received(.reliable)
        let busy = TransactionFixtures.response(486, to: invite)
        #expect(harness.handle { $0.sendResponse(busy) } == [.send(busy), .cancelTimers(.trying), .startTimer(.h, after: .seconds(32))])
        harness.advance(to: .seconds(10))
        #expect(harness.sent.count == 1)
        #expect(try harness.handle { $0.receiveACK(try TransactionFixtures.incomingACK()) } == [.terminate(.normal)])
        #expect(harness.machine.state == .terminated)
    }

    @Test func reliableTransportTimesOutOnHWithoutACK() throws {
        var (harness, invite) = try Self.received(.reliable)
        harness.handle { $0.sendResponse(TransactionFixtures.response(603, to: invite)) }
        harness.runUntilIdle()
        #expect(harness.sent.count == 1)
        #expect(harness.termination == .timeout)
        #expect(harness.terminatedAt == .seconds(32))
    }

    @Test func transportErrorTerminatesProceedingCompletedAndAccepted() throws {
        var (proceeding, invite) = try Self.received()
        proceeding.handle { $0.sendResponse(TransactionFixtures.response(180, to: invite)) }
        #expect(proceeding.handle { $0.transportFailed() } == [.terminate(.transportError)])
        #expect(proceeding.machine.state == .terminated)

        var (completed, _) = try Self.received()
        completed.handle { $0.sendResponse(TransactionFixtures.response(486, to: invite)) }
        #expect(completed.handle { $0.transportFailed() } == [.terminate(.transportError)])
        #expect(completed.timers.isEmpty)

        var (accepted, _) = try Self.received()
        accepted.handle { $0.sendResponse(TransactionFixtures.response(200, to: invite)) }
        #expect(accepted.handle { $0.transportFailed() } == [.terminate(.transportError)])
    }

    @Test func idleAndTerminatedIgnoreEverything() throws {
        let invite = try TransactionFixtures.incomingInvite()
        var idle = SIPInviteServerTransaction(request: invite, reliability: .unreliable)
        #expect(Array(idle.sendResponse(TransactionFixtures.response(200, to: invite))).isEmpty)
        #expect(Array(idle.receiveRetransmission()).isEmpty)
        #expect(Array(idle.receiveACK(try TransactionFixtures.incomingACK())).isEmpty)
        #expect(Array(idle.timerFired(.trying)).isEmpty)
        #expect(Array(idle.transportFailed()).isEmpty)
        #expect(idle.state == .idle)

        var (terminated, _) = try Self.received()
        terminated.handle { $0.sendResponse(TransactionFixtures.response(200, to: invite)) }
        terminated.runUntilIdle()
        #expect(terminated.machine.state == .terminated)
        #expect(terminated.handle { $0.sendResponse(TransactionFixtures.response(200, to: invite)) }.isEmpty)
        #expect(terminated.handle { $0.receiveRetransmission() }.isEmpty)
        #expect(try terminated.handle { $0.receiveACK(try TransactionFixtures.incomingACK()) }.isEmpty)
    }

    @Test func staleTimersAreIgnored() throws {
        var (harness, invite) = try Self.received()
        harness.handle { $0.sendResponse(TransactionFixtures.response(180, to: invite)) }
        #expect(harness.handle { $0.timerFired(.trying) }.isEmpty, "cancelled when the TU answered")
        harness.handle { $0.sendResponse(TransactionFixtures.response(486, to: invite)) }
        try harness.handle { $0.receiveACK(try TransactionFixtures.incomingACK()) }
        #expect(harness.handle { $0.timerFired(.g) }.isEmpty)
        #expect(harness.handle { $0.timerFired(.h) }.isEmpty)
        #expect(harness.machine.state == .confirmed)
    }
}
