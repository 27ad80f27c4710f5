import Testing
@testable import SIP

@Suite("INVITE client transaction (RFC 3261 §17.1.1, RFC 6026)")
struct InviteClientTransactionTests {
    typealias Harness = TransactionHarness<SIPInviteClientTransaction>

    static func started(
        _ reliability: SIPTransportReliability = .unreliable,
        timerValues: SIPTimerValues = SIPTimerValues()
    ) throws -> (Harness, SIPMessage) {
        let invite = try TransactionFixtures.invite(transport: reliability == .reliable ? "TCP" : "UDP")
        var harness = Harness(try SIPInviteClientTransaction(request: invite, reliability: reliability, timerValues: timerValues))
        harness.handle { $0.sendRequest() }
        return (harness, invite)
    }

    @Test func sendingOnUDPStartsTimersAAndB() throws {
        let invite = try TransactionFixtures.invite()
        var transaction = try SIPInviteClientTransaction(request: invite, reliability: .unreliable)
        #expect(transaction.state == .idle)
        let actions = Array(transaction.sendRequest())
        #expect(actions == [.send(invite), .startTimer(.a, after: .milliseconds(500)), .startTimer(.b, after: .seconds(32))])
        #expect(transaction.state == .calling)
        #expect(transaction.canSendCancel == false)
        #expect(Array(transaction.sendRequest()).isEmpty, "a second send is ignored")
    }

    @Test func sendingOnReliableTransportStartsOnlyTimerB() throws {
        let invite = try TransactionFixtures.invite(transport: "TCP")
        var transaction = try SIPInviteClientTransaction(request: invite, reliability: .reliable)
        #expect(Array(transaction.sendRequest()) == [.send(invite), .startTimer(.b, after: .seconds(32))])
    }

    /// Timer A starts at T1 and doubles on every firing without a T2 cap (§17.1.1.2: "intervals
    /// that double after each transmission"); Timer B ends the transaction at 64·T1.
    @Test func timerARetransmitsWithDoublingIntervalsUntilTimerB() throws {
        var (harness, invite) = try Self.started()
        harness.runUntilIdle()
        #expect(harness.sendTimes == [0, 0.5, 1.5, 3.5, 7.5, 15.5, 31.5])
        #expect(harness.sent.allSatisfy { $0.message == invite })
        #expect(harness.termination == .timeout)
        #expect(harness.terminatedAt == .seconds(32))
        #expect(harness.machine.state == .terminated)
        #expect(harness.deliveredResponses.isEmpty)
    }

    @Test func timerScheduleFollowsAConfiguredT1() throws {
        var (harness, _) = try Self.started(timerValues: SIPTimerValues(t1: .milliseconds(100)))
        harness.runUntilIdle()
        #expect(harness.sendTimes == [0, 0.1, 0.3, 0.7, 1.5, 3.1, 6.3])
        #expect(harness.terminatedAt == .milliseconds(6400))
    }

    @Test func reliableTransportNeverRetransmitsAndTimesOutOnB() throws {
        var (harness, _) = try Self.started(.reliable)
        harness.runUntilIdle()
        #expect(harness.sendTimes == [0])
        #expect(harness.termination == .timeout)
        #expect(harness.terminatedAt == .seconds(32))
    }

    @Test func provisionalResponseStopsRetransmissionsAndTimerB() throws {
        var (harness, invite) = try Self.started()
        harness.advance(to: .milliseconds(700))
        #expect(harness.sendTimes == [0, 0.5])
        let ringing = TransactionFixtures.response(180, to: invite)
        #expect(harness.handle { $0.receiveResponse(ringing) } == [.deliverResponse(ringing), .cancelTimers([.a, .b])])
        #expect(harness.machine.state == .proceeding)
        #expect(harness.machine.canSendCancel)
        let progress = TransactionFixtures.response(183, to: invite)
        #expect(harness.handle { $0.receiveResponse(progress) } == [.deliverResponse(progress)])
        harness.advance(to: .seconds(120))
        #expect(harness.sendTimes == [0, 0.5], "no retransmission in Proceeding")
        #expect(harness.termination == nil, "Timer B does not apply in Proceeding")
        #expect(harness.deliveredResponses == [ringing, progress])
    }

    @Test(arguments: [SIPTransportReliability.unreliable, .reliable])
    func successResponseMovesToAcceptedAndStartsTimerM(reliability: SIPTransportReliability) throws {
        var (harness, invite) = try Self.started(reliability)
        let ok = TransactionFixtures.response(200, to: invite)
        let cancelled: SIPTransactionTimers = reliability == .reliable ? [.b] : [.a, .b]
        #expect(harness.handle { $0.receiveResponse(ok) } == [.deliverResponse(ok), .cancelTimers(cancelled), .startTimer(.m, after: .seconds(32))])
        #expect(harness.machine.state == .accepted)
        #expect(harness.machine.ack == nil, "the TU acknowledges a 2xx, not the transaction")
        #expect(harness.sent.count == 1)
    }

    @Test func acceptedPassesEvery2xxToTheTUAndNothingElse() throws {
        var (harness, invite) = try Self.started()
        harness.handle { $0.receiveResponse(TransactionFixtures.response(180, to: invite)) }
        harness.advance(to: .seconds(4))
        let ok = TransactionFixtures.response(200, to: invite)
        #expect(harness.handle { $0.receiveResponse(ok) } == [.deliverResponse(ok), .startTimer(.m, after: .seconds(32))])
        harness.advance(to: .seconds(10))
        // A retransmission and a 2xx from another fork both reach the TU; no ACK is generated.
        #expect(harness.handle { $0.receiveResponse(ok) } == [.deliverResponse(ok)])
        let fork = TransactionFixtures.response(200, to: invite, toTag: "fork-2")
        #expect(harness.handle { $0.receiveResponse(fork) } == [.deliverResponse(fork)])
        #expect(harness.handle { $0.receiveResponse(TransactionFixtures.response(180, to: invite)) }.isEmpty)
        #expect(harness.handle { $0.receiveResponse(TransactionFixtures.response(486, to: invite)) }.isEmpty)
        #expect(harness.handle { $0.transportFailed() }.isEmpty, "Accepted sends nothing, so no transport error is its own")
        harness.runUntilIdle()
        #expect(harness.termination == .normal)
        #expect(harness.terminatedAt == .seconds(36))
        #expect(harness.sent.count == 1)
        #expect(harness.deliveredResponses.count == 4)
    }

    @Test(arguments: [300, 302, 401, 404, 486, 487, 500, 503, 603, 699])
    func failureResponseIsAcknowledgedAndStartsTimerD(status: Int) throws {
        var (harness, invite) = try Self.started()
        harness.advance(to: .seconds(1))
        let failure = TransactionFixtures.response(status, to: invite)
        let ack = try SIPMessage.ack(for: invite, finalResponse: failure)
        #expect(harness.handle { $0.receiveResponse(failure) } == [
            .send(ack), .deliverResponse(failure), .cancelTimers([.a, .b]), .startTimer(.d, after: .seconds(32)),
        ])
        #expect(harness.machine.state == .completed)
        #expect(harness.machine.ack == ack)
        #expect(ack.method == .ack)
        #expect(try ack.topVia?.branch == TransactionFixtures.clientBranch)
        #expect(try ack.to.tag == "uas-1")
        #expect(try ack.cseq == SIPCSeq(sequence: 7, method: .ack))
    }

    @Test func completedReacknowledgesRetransmittedFinalResponsesWithoutTheTU() throws {
        var (harness, invite) = try Self.started()
        let busy = TransactionFixtures.response(486, to: invite)
        harness.handle { $0.receiveResponse(busy) }
        let ack = try #require(harness.machine.ack)
        harness.advance(to: .seconds(2))
        #expect(harness.handle { $0.receiveResponse(busy) } == [.send(ack)])
        #expect(harness.handle { $0.receiveResponse(busy) } == [.send(ack)])
        #expect(harness.handle { $0.receiveResponse(TransactionFixtures.response(180, to: invite)) }.isEmpty)
        #expect(harness.handle { $0.receiveResponse(TransactionFixtures.response(200, to: invite)) }.isEmpty)
        #expect(harness.deliveredResponses == [busy])
        harness.runUntilIdle()
        #expect(harness.termination == .normal)
        #expect(harness.terminatedAt == .seconds(32))
        #expect(harness.sent.map(\.message) == [invite, ack, ack, ack])
    }

    @Test func failureAfterProvisionalOnlyStartsTimerD() throws {
        var (harness, invite) = try Self.started()
        harness.handle { $0.receiveResponse(TransactionFixtures.response(180, to: invite)) }
        let declined = TransactionFixtures.response(603, to: invite)
        let ack = try SIPMessage.ack(for: invite, finalResponse: declined)
        #expect(harness.handle { $0.receiveResponse(declined) } == [.send(ack), .deliverResponse(declined), .startTimer(.d, after: .seconds(32))])
        #expect(harness.machine.canSendCancel == false)
    }

    @Test func failureOnReliableTransportTerminatesAtOnce() throws {
        var (harness, invite) = try Self.started(.reliable)
        let failure = TransactionFixtures.response(404, to: invite)
        let ack = try SIPMessage.ack(for: invite, finalResponse: failure)
        #expect(harness.handle { $0.receiveResponse(failure) } == [.send(ack), .deliverResponse(failure), .terminate(.normal)])
        #expect(harness.machine.state == .terminated)
        #expect(harness.handle { $0.receiveResponse(failure) }.isEmpty)
    }

    @Test func timerDScalesWithALargeT1() throws {
        var (harness, invite) = try Self.started(timerValues: SIPTimerValues(t1: .seconds(1)))
        let actions = harness.handle { $0.receiveResponse(TransactionFixtures.response(480, to: invite)) }
        #expect(actions.last == .startTimer(.d, after: .seconds(64)))
    }

    @Test func transportErrorTerminatesCallingProceedingAndCompleted() throws {
        var (calling, _) = try Self.started()
        #expect(calling.handle { $0.transportFailed() } == [.terminate(.transportError)])
        #expect(calling.timers.isEmpty)

        var (proceeding, invite) = try Self.started()
        proceeding.handle { $0.receiveResponse(TransactionFixtures.response(100, to: invite)) }
        #expect(proceeding.handle { $0.transportFailed() } == [.terminate(.transportError)])

        var (completed, _) = try Self.started()
        completed.handle { $0.receiveResponse(TransactionFixtures.response(500, to: invite)) }
        #expect(completed.handle { $0.transportFailed() } == [.terminate(.transportError)])
        #expect(completed.machine.state == .terminated)
    }

    @Test func idleAndTerminatedIgnoreEverything() throws {
        let invite = try TransactionFixtures.invite()
        var idle = try SIPInviteClientTransaction(request: invite, reliability: .unreliable)
        #expect(Array(idle.receiveResponse(TransactionFixtures.response(200, to: invite))).isEmpty)
        #expect(Array(idle.transportFailed()).isEmpty)
        #expect(Array(idle.timerFired(.b)).isEmpty)
        #expect(idle.state == .idle)

        var (terminated, _) = try Self.started()
        terminated.runUntilIdle()
        #expect(terminated.machine.state == .terminated)
        #expect(terminated.handle { $0.receiveResponse(TransactionFixtures.response(200, to: invite)) }.isEmpty)
        #expect(terminated.handle { $0.timerFired(.a) }.isEmpty)
        #expect(terminated.handle { $0.transportFailed() }.isEmpty)
    }

    @Test func timersThatAreNotArmedAreIgnored() throws {
        var (harness, invite) = try Self.started()
        harness.handle { $0.receiveResponse(TransactionFixtures.response(180, to: invite)) }
        // Cancelled a moment too late: the owner reports A and B anyway.
        #expect(harness.handle { $0.timerFired(.a) }.isEmpty)
        #expect(harness.handle { $0.timerFired(.b) }.isEmpty)
        #expect(harness.handle { $0.timerFired(.d) }.isEmpty)
        #expect(harness.machine.state == .proceeding)
    }

    @Test func responsesOutsideTheStatusRangeAreIgnored() throws {
        var (harness, _) = try Self.started()
        #expect(harness.handle { $0.receiveResponse(.response(statusCode: 700)) }.isEmpty)
        #expect(harness.handle { $0.receiveResponse(.response(statusCode: 99)) }.isEmpty)
        #expect(harness.machine.state == .calling)
    }

    @Test func requestWithoutViaOrCSeqIsRejected() throws {
        var invite = try TransactionFixtures.invite()
        invite.headers.remove(.via)
        #expect(throws: SIPParseError.self) { try SIPInviteClientTransaction(request: invite, reliability: .unreliable) }
        var noCSeq = try TransactionFixtures.invite()
        noCSeq.headers.remove(.cseq)
        #expect(throws: SIPParseError.self) { try SIPInviteClientTransaction(request: noCSeq, reliability: .unreliable) }
        let response = SIPMessage.response(statusCode: 200)
        #expect(throws: SIPParseError.self) { try SIPInviteClientTransaction(request: response, reliability: .unreliable) }
    }
}
