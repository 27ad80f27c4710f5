import Testing
@testable import SIP

@Suite("Transaction matching (RFC 3261 §17.1.3, §17.2.3) and routing")
struct TransactionMatchingTests {
    typealias Fixtures = TransactionFixtures

    // MARK: Client side

    @Test func responseMatchesTheClientTransactionByBranchAndCSeqMethod() throws {
        let invite = try Fixtures.invite()
        let key = try SIPTransactionKey(clientRequest: invite)
        #expect(key.branch == Fixtures.clientBranch)
        #expect(key.method == .invite)
        #expect(try SIPTransactionKey(response: Fixtures.response(180, to: invite)) == key)
        #expect(try SIPTransactionKey(response: Fixtures.response(200, to: invite)) == key)
    }

    @Test func cancelSharesTheBranchButIsItsOwnClientTransaction() throws {
        let invite = try Fixtures.invite()
        let cancel = try SIPMessage.cancel(for: invite)
        let inviteKey = try SIPTransactionKey(clientRequest: invite)
        let cancelKey = try SIPTransactionKey(clientRequest: cancel)
        #expect(cancelKey.branch == inviteKey.branch)
        #expect(cancelKey != inviteKey)
        #expect(try SIPTransactionKey(response: Fixtures.response(200, to: cancel)) == cancelKey)
        #expect(try SIPTransactionKey(response: Fixtures.response(487, to: invite)) == inviteKey)
    }

    @Test func clientKeyNeedsAnRFC3261Branch() throws {
        #expect(throws: SIPParseError.self) { try SIPTransactionKey(clientRequest: Fixtures.invite(branch: "legacy1")) }
        #expect(throws: SIPParseError.self) { try SIPTransactionKey(clientRequest: Fixtures.invite(branch: "z9hG4bK")) }
        #expect(throws: SIPParseError.self) { try SIPTransactionKey(clientRequest: Fixtures.response(200, to: Fixtures.invite())) }
        let legacyResponse = Fixtures.response(200, to: try Fixtures.invite(branch: "legacy1"))
        #expect(try SIPTransactionKey(response: legacyResponse) == nil)
    }

    // MARK: Server side, RFC 3261 branches

    struct ServerCase: Sendable, CustomTestStringConvertible {
        var name: String
        var other: @Sendable () throws -> SIPMessage
        var matches: Bool
        var testDescription: String { name }
    }

    static let serverCases: [ServerCase] = [
        ServerCase(name: "retransmission", other: { try Fixtures.incomingInvite() }, matches: true),
        ServerCase(name: "ACK for a non-2xx", other: { try Fixtures.incomingACK() }, matches: true),
        ServerCase(name: "sent-by host in another case", other: { try Fixtures.incomingInvite(sentBy: "192.0.2.10:5060".uppercased()) }, matches: true),
        ServerCase(name: "another branch", other: { try Fixtures.incomingInvite(branch: "z9hG4bKother") }, matches: false),
        ServerCase(name: "ACK for a 2xx (new branch)", other: { try Fixtures.incomingACK(branch: "z9hG4bKack2xx") }, matches: false),
        ServerCase(name: "another sent-by host", other: { try Fixtures.incomingInvite(sentBy: "192.0.2.11:5060") }, matches: false),
        ServerCase(name: "another sent-by port", other: { try Fixtures.incomingInvite(sentBy: "192.0.2.10:5070") }, matches: false),
        ServerCase(name: "CANCEL", other: { try Fixtures.incomingCANCEL() }, matches: false),
    ]

    @Test(arguments: serverCases)
    func serverMatchingWithTheMagicCookie(_ testCase: ServerCase) throws {
        let key = try SIPTransactionKey(serverRequest: Fixtures.incomingInvite())
        #expect(key.isRFC3261)
        let other = try SIPTransactionKey(serverRequest: testCase.other())
        #expect((other == key) == testCase.matches)
    }

    @Test func sentByHostCaseDoesNotMatter() throws {
        let lower = try SIPTransactionKey(serverRequest: Fixtures.incomingInvite(sentBy: "edge.carrier.example.net"))
        let upper = try SIPTransactionKey(serverRequest: Fixtures.incomingInvite(sentBy: "EDGE.Carrier.example.NET"))
        #expect(lower == upper)
    }

    // MARK: Server side, RFC 2543 fallback

    static let legacyCases: [ServerCase] = [
        ServerCase(name: "retransmission without branch", other: { try Fixtures.incomingInvite(branch: nil) }, matches: true),
        ServerCase(name: "ACK carrying the response's To tag", other: { try Fixtures.incomingACK(branch: nil) }, matches: true),
        ServerCase(name: "ACK with another CSeq number", other: { try Fixtures.incomingACK(branch: nil, cseq: 102) }, matches: false),
        ServerCase(name: "another top Via", other: { try Fixtures.incomingInvite(branch: nil, sentBy: "192.0.2.12") }, matches: false),
        ServerCase(name: "a branch with the cookie", other: { try Fixtures.incomingInvite() }, matches: false),
        ServerCase(name: "CANCEL", other: { try Fixtures.incomingCANCEL(branch: nil) }, matches: false),
    ]

    @Test(arguments: legacyCases)
    func serverMatchingWithoutTheMagicCookie(_ testCase: ServerCase) throws {
        let key = try SIPTransactionKey(serverRequest: Fixtures.incomingInvite(branch: nil))
        #expect(!key.isRFC3261)
        #expect(key.branch == nil)
        let other = try SIPTransactionKey(serverRequest: testCase.other())
        #expect((other == key) == testCase.matches)
    }

    @Test func branchWithoutCookieOrBareCookieUsesTheFallback() throws {
        let legacy = try SIPTransactionKey(serverRequest: Fixtures.incomingInvite(branch: "1234abcd"))
        let bareCookie = try SIPTransactionKey(serverRequest: Fixtures.incomingInvite(branch: "z9hG4bK"))
        #expect(!legacy.isRFC3261)
        #expect(!bareCookie.isRFC3261)
        #expect(legacy == (try SIPTransactionKey(serverRequest: Fixtures.incomingInvite(branch: "1234abcd"))))
        #expect(legacy != (try SIPTransactionKey(serverRequest: Fixtures.incomingInvite(branch: "1234abce"))), "the whole top Via counts")
    }

    @Test func legacyNonInviteKeysIncludeTheToTag() throws {
        let bye = try SIPTransactionKey(serverRequest: Fixtures.request("BYE", branch: "old", toTag: "a"))
        #expect(bye == (try SIPTransactionKey(serverRequest: Fixtures.request("BYE", branch: "old", toTag: "a"))))
        #expect(bye != (try SIPTransactionKey(serverRequest: Fixtures.request("BYE", branch: "old", toTag: "b"))))
        #expect(bye != (try SIPTransactionKey(serverRequest: Fixtures.request("BYE", branch: "old", toTag: "a", cseq: 9))))
    }

    @Test func cancelTargetsTheInviteKey() throws {
        for branch in [Fixtures.serverBranch, nil] {
            let invite = try SIPTransactionKey(serverRequest: Fixtures.incomingInvite(branch: branch))
            let cancel = try SIPTransactionKey(serverRequest: Fixtures.incomingCANCEL(branch: branch))
            #expect(cancel.method == .cancel)
            #expect(cancel != invite)
            #expect(cancel.cancelledInvite == invite)
        }
    }

    // MARK: The table

    @Test func tableRoutesResponsesToClientTransactionsOrDropsThem() throws {
        let invite = try Fixtures.invite()
        var table = SIPTransactionTable<Int>()
        let key = try SIPTransactionKey(clientRequest: invite)
        table[client: key] = 1
        #expect(try table.route(Fixtures.response(180, to: invite)) == .response(client: key))
        let cancel = try SIPMessage.cancel(for: invite)
        #expect(try table.route(Fixtures.response(200, to: cancel)) == .strayResponse, "no CANCEL transaction yet")
        #expect(try table.route(Fixtures.response(200, to: Fixtures.invite(branch: "z9hG4bKunknown"))) == .strayResponse)
        #expect(try table.route(Fixtures.response(200, to: Fixtures.invite(branch: "nocookie"))) == .strayResponse)
        table[client: key] = nil
        #expect(try table.route(Fixtures.response(200, to: invite)) == .strayResponse)
        #expect(table.isEmpty)
    }

    @Test func tableRoutesRequests() throws {
        var table = SIPTransactionTable<String>()
        let invite = try Fixtures.incomingInvite()
        let key = try SIPTransactionKey(serverRequest: invite)
        #expect(try table.route(invite) == .newRequest(server: key))
        #expect(try table.route(Fixtures.incomingACK()) == .ackForSuccess, "an ACK never creates a transaction")
        let cancelKey = try SIPTransactionKey(serverRequest: Fixtures.incomingCANCEL())
        #expect(try table.route(Fixtures.incomingCANCEL()) == .cancel(server: cancelKey, cancelling: nil), "481 for a CANCEL without INVITE")

        table[server: key] = "IST"
        #expect(try table.route(invite) == .retransmission(server: key))
        #expect(try table.route(Fixtures.incomingACK()) == .ack(server: key))
        #expect(try table.route(Fixtures.incomingACK(branch: "z9hG4bKack2xx")) == .ackForSuccess)
        #expect(try table.route(Fixtures.incomingCANCEL()) == .cancel(server: cancelKey, cancelling: key))

        table[server: cancelKey] = "NIST"
        #expect(try table.route(Fixtures.incomingCANCEL()) == .retransmission(server: cancelKey))
        #expect(table.serverCount == 2)
        #expect(table.clientCount == 0)
    }

    @Test func ourOwnRequestLoopingBackIsANewServerTransaction() throws {
        let invite = try Fixtures.invite()
        var table = SIPTransactionTable<Int>()
        table[client: try SIPTransactionKey(clientRequest: invite)] = 1
        #expect(try table.route(invite) == .newRequest(server: try SIPTransactionKey(serverRequest: invite)))
    }

    @Test func tableRoutesLegacyACKToTheInviteTransaction() throws {
        var table = SIPTransactionTable<Int>()
        let key = try SIPTransactionKey(serverRequest: Fixtures.incomingInvite(branch: nil))
        table[server: key] = 1
        #expect(try table.route(Fixtures.incomingInvite(branch: nil)) == .retransmission(server: key))
        #expect(try table.route(Fixtures.incomingACK(branch: nil)) == .ack(server: key))
        #expect(try table.route(Fixtures.incomingCANCEL(branch: nil)) == .cancel(server: try SIPTransactionKey(serverRequest: Fixtures.incomingCANCEL(branch: nil)), cancelling: key))
    }

    @Test func tableMutatesTransactionsInPlace() throws {
        let invite = try Fixtures.invite()
        let key = try SIPTransactionKey(clientRequest: invite)
        var table = SIPTransactionTable<SIPInviteClientTransaction>(minimumCapacity: 16)
        table[client: key] = try SIPInviteClientTransaction(request: invite, reliability: .unreliable)
        _ = table[client: key]?.sendRequest()
        let ringing = Fixtures.response(180, to: invite)
        guard case .response(let routed) = try table.route(ringing) else {
            Issue.record("the 180 did not route to the INVITE")
            return
        }
        let actions = table[client: routed]?.receiveResponse(ringing)
        #expect(actions.map(Array.init) == [.deliverResponse(ringing), .cancelTimers([.a, .b])])
        #expect(table[client: key]?.state == .proceeding)
    }

    @Test func malformedMessagesAreReported() throws {
        var noVia = try Fixtures.incomingInvite()
        noVia.headers.remove(.via)
        #expect(throws: SIPParseError.self) { try SIPTransactionTable<Int>().route(noVia) }
        var noCSeq = Fixtures.response(200, to: try Fixtures.invite())
        noCSeq.headers.remove(.cseq)
        #expect(throws: SIPParseError.self) { try SIPTransactionTable<Int>().route(noCSeq) }
    }
}
