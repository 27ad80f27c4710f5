import Testing
@testable import SIP

@Suite("Messages built by the transaction layer")
struct TransactionMessageTests {
    typealias Fixtures = TransactionFixtures

    @Test(arguments: [300, 401, 404, 486, 487, 503, 603])
    func ackForNonSuccessResponse(status: Int) throws {
        let invite = try Fixtures.invite()
        let response = Fixtures.response(status, to: invite, toTag: "tag-\(status)")
        let ack = try SIPMessage.ack(for: invite, finalResponse: response)

        #expect(ack.method == .ack)
        #expect(ack.requestURI == invite.requestURI)
        let vias = try ack.vias
        #expect(vias.count == 1)
        #expect(vias.first == (try invite.topVia))
        #expect(vias.first?.branch == Fixtures.clientBranch)
        #expect(ack.callID == invite.callID)
        #expect(ack.headers[.from] == invite.headers[.from])
        #expect(ack.headers[.to] == response.headers[.to])
        #expect(try ack.to.tag == "tag-\(status)")
        #expect(try ack.cseq == SIPCSeq(sequence: 7, method: .ack))
        #expect(ack.headers.values(for: .route) == ["<sip:edge1.example.com;lr>", "<sip:edge2.example.com;lr>"])
        #expect(try ack.maxForwards == 69)
        #expect(ack.body.readableBytes == 0)
        #expect(!ack.headers.contains(.contact))
        #expect(!ack.headers.contains(.contentType))
        // The ACK survives the wire.
        #expect(try SIPMessage.parse(datagram: ack.serialized()).serialized() == ack.serialized())
    }

    @Test func ackRequiresAnInviteWithViaAndCSeq() throws {
        var invite = try Fixtures.invite()
        invite.headers.remove(.cseq)
        let response = SIPMessage.response(statusCode: 486)
        #expect(throws: SIPParseError.self) { try SIPMessage.ack(for: invite, finalResponse: response) }
        #expect(throws: SIPParseError.self) { try SIPMessage.ack(for: response, finalResponse: response) }
    }

    @Test func cancelForPendingInvite() throws {
        let invite = try Fixtures.invite()
        let cancel = try SIPMessage.cancel(for: invite)
        #expect(cancel.method == .cancel)
        #expect(cancel.requestURI == invite.requestURI)
        #expect(try cancel.vias == [try #require(try invite.topVia)])
        #expect(cancel.headers[.to] == invite.headers[.to])
        #expect(try cancel.to.tag == nil)
        #expect(cancel.headers[.from] == invite.headers[.from])
        #expect(cancel.callID == invite.callID)
        #expect(try cancel.cseq == SIPCSeq(sequence: 7, method: .cancel))
        #expect(cancel.headers.values(for: .route) == invite.headers.values(for: .route))
        #expect(!cancel.headers.contains(.reason))
        #expect(cancel.body.readableBytes == 0)
        #expect(try SIPMessage.parse(datagram: cancel.serialized()).serialized() == cancel.serialized())
    }

    @Test func cancelCarriesAReason() throws {
        let cancel = try SIPMessage.cancel(for: Fixtures.invite(), reason: "SIP;cause=200;text=\"Call completed elsewhere\"")
        #expect(cancel.headers[.reason] == "SIP;cause=200;text=\"Call completed elsewhere\"")
    }

    @Test func cancelMatchesThePendingInviteAtTheServer() throws {
        let invite = try Fixtures.invite()
        var table = SIPTransactionTable<Int>()
        let inviteKey = try SIPTransactionKey(serverRequest: invite)
        table[server: inviteKey] = 1
        let cancel = try SIPMessage.cancel(for: invite)
        #expect(try table.route(cancel) == .cancel(server: try SIPTransactionKey(serverRequest: cancel), cancelling: inviteKey))
    }

    @Test func tryingResponse() throws {
        let invite = try Fixtures.incomingInvite(timestamp: "1.5")
        let trying = SIPMessage.tryingResponse(to: invite)
        #expect(trying.statusCode == 100)
        #expect(trying.reasonPhrase == "Trying")
        #expect(try trying.vias == (try invite.vias))
        #expect(try trying.to.tag == nil)
        #expect(trying.headers[.timestamp] == "1.5")
        #expect(!SIPMessage.tryingResponse(to: try Fixtures.incomingInvite()).headers.contains(.timestamp))
    }

    @Test func branchesCarryTheCookieAndParse() throws {
        var generator = SeededGenerator(state: 1)
        let branch = SIPVia.makeBranch(using: &generator)
        #expect(branch.hasPrefix("z9hG4bK"))
        #expect(branch.utf8.count == 27)
        let via = try SIPVia(parsing: "SIP/2.0/UDP 198.51.100.1;branch=\(branch)")
        #expect(via.branch == branch)
        #expect(via.isRFC3261Branch)
        var same = SeededGenerator(state: 1)
        #expect(SIPVia.makeBranch(using: &same) == branch, "deterministic for a given generator")
    }

    @Test func branchesAreUnique() {
        let branches = (0..<10_000).map { _ in SIPVia.makeBranch() }
        #expect(Set(branches).count == branches.count)
        #expect(Set(branches.map { $0.dropFirst(7).first }).count > 32, "the random part uses the whole alphabet")
    }

    @Test func timerValuesDerivation() {
        let defaults = SIPTimerValues()
        #expect(defaults.transactionTimeout == .seconds(32))
        #expect(defaults.completedWait == .seconds(32))
        #expect(defaults.doubledUpToT2(.seconds(1)) == .seconds(2))
        #expect(defaults.doubledUpToT2(.seconds(2)) == .seconds(4))
        #expect(defaults.doubledUpToT2(.seconds(4)) == .seconds(4))
        let fast = SIPTimerValues(t1: .milliseconds(100))
        #expect(fast.transactionTimeout == .milliseconds(6400))
        #expect(fast.completedWait == .seconds(32))
    }

    @Test(arguments: [("UDP", SIPTransportReliability.unreliable), ("udp", .unreliable), ("TCP", .reliable), ("TLS", .reliable),
                      ("WS", .reliable), ("wss", .reliable), ("SCTP", .reliable), ("XYZ", .unreliable)])
    func reliabilityFromViaTransport(transport: String, expected: SIPTransportReliability) {
        #expect(SIPTransportReliability(viaTransport: transport) == expected)
    }

    @Test func actionsHoldUpToFourInline() {
        var actions = SIPTransactionActions()
        #expect(actions.isEmpty)
        actions.append(.cancelTimers([.a, .b]))
        actions.append(.startTimer(.d, after: .seconds(32)))
        actions.append(.terminate(.normal))
        actions.append(.cancelTimers(.trying))
        #expect(actions.count == SIPTransactionActions.capacity)
        #expect(Array(actions) == [.cancelTimers([.a, .b]), .startTimer(.d, after: .seconds(32)), .terminate(.normal), .cancelTimers(.trying)])
        #expect(SIPTransactionTimers([.a, .m]).description == "[Timer A, Timer M]")
    }
}
