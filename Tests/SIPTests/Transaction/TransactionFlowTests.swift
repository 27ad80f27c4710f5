import Testing
@testable import SIP

/// A UAC and a UAS wired back to back over a lossless fake UDP link, both driven by the
/// table, so the routing and the four machines are exercised together.
@Suite("Transactions end to end")
struct TransactionFlowTests {
    typealias Fixtures = TransactionFixtures

    enum Transaction {
        case inviteClient(SIPInviteClientTransaction)
        case nonInviteClient(SIPNonInviteClientTransaction)
        case inviteServer(SIPInviteServerTransaction)
        case nonInviteServer(SIPNonInviteServerTransaction)
    }

    /// One side: a table plus what its TU saw.
    struct Endpoint {
        var table = SIPTransactionTable<Transaction>()
        var outbox: [SIPMessage] = []
        var tuRequests: [SIPMessage] = []
        var tuResponses: [SIPMessage] = []
        var routes: [SIPTransactionRoute] = []
        var terminations: [SIPTransactionTermination] = []

        mutating func perform(_ actions: SIPTransactionActions, client: SIPTransactionKey? = nil, server: SIPTransactionKey? = nil) {
            for action in actions {
                switch action {
                case .send(let message): outbox.append(message)
                case .deliverRequest(let message): tuRequests.append(message)
                case .deliverResponse(let message): tuResponses.append(message)
                case .startTimer, .cancelTimers: break
                case .terminate(let reason):
                    terminations.append(reason)
                    if let client { table[client: client] = nil }
                    if let server { table[server: server] = nil }
                }
            }
        }

        mutating func startClient(_ request: SIPMessage) throws {
            let key = try SIPTransactionKey(clientRequest: request)
            if request.method == .invite {
                var machine = try SIPInviteClientTransaction(request: request, reliability: .unreliable)
                let actions = machine.sendRequest()
                table[client: key] = .inviteClient(machine)
                perform(actions, client: key)
            } else {
                var machine = SIPNonInviteClientTransaction(request: request, reliability: .unreliable)
                let actions = machine.sendRequest()
                table[client: key] = .nonInviteClient(machine)
                perform(actions, client: key)
            }
        }

        mutating func respond(_ response: SIPMessage, to key: SIPTransactionKey) {
            var actions = SIPTransactionActions()
            switch table[server: key] {
            case .inviteServer(var machine):
                actions = machine.sendResponse(response)
                table[server: key] = .inviteServer(machine)
            case .nonInviteServer(var machine):
                actions = machine.sendResponse(response)
                table[server: key] = .nonInviteServer(machine)
            default:
                Issue.record("no server transaction \(key)")
            }
            perform(actions, server: key)
        }

        mutating func receive(_ message: SIPMessage) throws {
            let route = try table.route(message)
            routes.append(route)
            var actions = SIPTransactionActions()
            switch route {
            case .response(let key):
                switch table[client: key] {
                case .inviteClient(var machine):
                    actions = machine.receiveResponse(message)
                    table[client: key] = .inviteClient(machine)
                case .nonInviteClient(var machine):
                    actions = machine.receiveResponse(message)
                    table[client: key] = .nonInviteClient(machine)
                default: break
                }
                perform(actions, client: key)
            case .retransmission(let key), .ack(let key):
                switch table[server: key] {
                case .inviteServer(var machine):
                    actions = message.method == .ack ? machine.receiveACK(message) : machine.receiveRetransmission()
                    table[server: key] = .inviteServer(machine)
                case .nonInviteServer(var machine):
                    actions = machine.receiveRetransmission()
                    table[server: key] = .nonInviteServer(machine)
                default: break
                }
                perform(actions, server: key)
            case .newRequest(let key), .cancel(let key, _):
                if message.method == .invite {
                    var machine = SIPInviteServerTransaction(request: message, reliability: .unreliable)
                    actions = machine.receiveRequest()
                    table[server: key] = .inviteServer(machine)
                } else {
                    var machine = SIPNonInviteServerTransaction(request: message, reliability: .unreliable)
                    actions = machine.receiveRequest()
                    table[server: key] = .nonInviteServer(machine)
                }
                perform(actions, server: key)
            case .ackForSuccess:
                tuRequests.append(message)
            case .strayResponse:
                break
            }
        }

        mutating func flush(to peer: inout Endpoint) throws {
            let messages = outbox
            outbox.removeAll()
            for message in messages { try peer.receive(message) }
        }
    }

    @Test func cancelledCall() throws {
        var uac = Endpoint()
        var uas = Endpoint()
        let invite = try Fixtures.invite()
        try uac.startClient(invite)
        try uac.flush(to: &uas)
        let serverKey = try SIPTransactionKey(serverRequest: invite)
        #expect(uas.routes == [.newRequest(server: serverKey)])
        #expect(uas.tuRequests == [invite])

        uas.respond(Fixtures.response(180, to: invite), to: serverKey)
        try uas.flush(to: &uac)
        let clientKey = try SIPTransactionKey(clientRequest: invite)
        #expect(uac.tuResponses.map(\.statusCode) == [180])
        guard case .inviteClient(let ict) = uac.table[client: clientKey] else {
            Issue.record("the INVITE client transaction is gone")
            return
        }
        #expect(ict.canSendCancel)

        // The caller hangs up: CANCEL in its own transaction, matched to the INVITE at the UAS.
        let cancel = try SIPMessage.cancel(for: invite)
        try uac.startClient(cancel)
        try uac.flush(to: &uas)
        let cancelKey = try SIPTransactionKey(serverRequest: cancel)
        #expect(uas.routes.last == .cancel(server: cancelKey, cancelling: serverKey))
        uas.respond(Fixtures.response(200, to: cancel), to: cancelKey)
        uas.respond(Fixtures.response(487, to: invite), to: serverKey)
        try uas.flush(to: &uac)
        #expect(uac.tuResponses.map(\.statusCode) == [180, 200, 487])
        #expect(uac.routes.suffix(2) == [.response(client: try SIPTransactionKey(clientRequest: cancel)), .response(client: clientKey)])

        // The INVITE client transaction acknowledged the 487 itself, in the INVITE's transaction.
        try uac.flush(to: &uas)
        #expect(uas.routes.last == .ack(server: serverKey))
        guard case .inviteServer(let ist) = uas.table[server: serverKey] else {
            Issue.record("the INVITE server transaction is gone")
            return
        }
        #expect(ist.state == .confirmed)
        #expect(uas.tuRequests.map(\.method) == [.invite, .cancel], "the ACK for a non-2xx does not reach the TU")
    }

    @Test func answeredCallAndLateResponses() throws {
        var uac = Endpoint()
        var uas = Endpoint()
        let invite = try Fixtures.invite()
        try uac.startClient(invite)
        try uac.flush(to: &uas)
        let serverKey = try SIPTransactionKey(serverRequest: invite)
        let ok = Fixtures.response(200, to: invite)
        uas.respond(ok, to: serverKey)
        try uas.flush(to: &uac)
        #expect(uac.tuResponses == [ok])
        #expect(uac.outbox.isEmpty, "the ICT does not acknowledge a 2xx")

        // The UAC core's ACK for the 2xx has a new branch and goes to the UAS dialog layer.
        var ack = try SIPMessage.ack(for: invite, finalResponse: ok)
        var via = try #require(try ack.topVia)
        via.branch = "z9hG4bKack-for-2xx"
        ack.headers.replace(.via, with: via.description)
        try uas.receive(ack)
        #expect(uas.routes.last == .ackForSuccess)
        #expect(uas.tuRequests.last == ack)

        // A retransmitted INVITE is absorbed in Accepted instead of creating a new transaction.
        try uas.receive(invite)
        #expect(uas.routes.last == .retransmission(server: serverKey))
        #expect(uas.outbox.isEmpty)
        #expect(uas.tuRequests.count == 2)

        // A response for a transaction the UAC never had is stray.
        try uac.receive(Fixtures.response(200, to: Fixtures.invite(branch: "z9hG4bKnever")))
        #expect(uac.routes.last == .strayResponse)
        #expect(uac.tuResponses == [ok])
    }
}
