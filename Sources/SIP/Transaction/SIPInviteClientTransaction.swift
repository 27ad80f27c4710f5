/// The INVITE client transaction of RFC 3261 §17.1.1, with the Accepted state RFC 6026 adds
/// for 2xx responses.
///
/// ```
///  idle ──sendRequest──▶ Calling ──1xx──▶ Proceeding
///                          │  │             │   │
///                          │  └────2xx──────┼───┼──▶ Accepted ──Timer M──▶ Terminated
///                          └────300–699─────┴───┴──▶ Completed ──Timer D──▶ Terminated
/// ```
///
/// - Calling retransmits the INVITE on Timer A (unreliable transports only; the interval
///   doubles from T1 without a cap, §17.1.1.2) and gives up on Timer B (64·T1).
/// - A non-2xx final response is acknowledged by the transaction itself
///   (``SIPMessage/ack(for:finalResponse:)``), and its retransmissions are acknowledged again
///   in Completed without reaching the TU.
/// - A 2xx response, and every further 2xx (retransmissions, forks) until Timer M, goes to the
///   TU, which sends the ACK itself (§13.2.2.4).
public struct SIPInviteClientTransaction: Sendable {
    public enum State: Sendable, Hashable {
        /// Created; the INVITE has not been sent yet.
        case idle
        case calling
        case proceeding
        case completed
        case accepted
        case terminated
    }

    public private(set) var state: State
    /// The INVITE this transaction sends.
    public let request: SIPMessage
    public let reliability: SIPTransportReliability
    public let timerValues: SIPTimerValues
    /// The ACK sent for the non-2xx final response, once there is one.
    public private(set) var ack: SIPMessage?

    private var timers = SIPArmedTimers()
    private var retransmitInterval: Duration

    /// - Throws: when the request has no top `Via` or no valid `CSeq`, which the ACK for a
    ///   non-2xx final response copies.
    public init(request: SIPMessage, reliability: SIPTransportReliability, timerValues: SIPTimerValues = SIPTimerValues()) throws(SIPParseError) {
        guard request.isRequest else { throw SIPParseError(.malformedStartLine, "a client transaction needs a request") }
        guard try request.topVia != nil else { throw SIPParseError(.missingHeader(.via), "no Via") }
        _ = try request.cseq
        self.state = .idle
        self.request = request
        self.reliability = reliability
        self.timerValues = timerValues
        self.ack = nil
        self.retransmitInterval = timerValues.t1
    }

    /// A CANCEL may be sent for this INVITE only once a provisional response has arrived and
    /// no final response has (RFC 3261 §9.1).
    public var canSendCancel: Bool { state == .proceeding }

    /// The TU hands the INVITE to the transaction: send it and start Timers A and B.
    public mutating func sendRequest() -> SIPTransactionActions {
        var actions = SIPTransactionActions()
        guard state == .idle else { return actions }
        state = .calling
        actions.append(.send(request))
        if reliability == .unreliable {
            retransmitInterval = timerValues.t1
            timers.start(.a, after: retransmitInterval, &actions)
        }
        timers.start(.b, after: timerValues.transactionTimeout, &actions)
        return actions
    }

    /// A response matched this transaction (§17.1.3).
    public mutating func receiveResponse(_ response: SIPMessage) -> SIPTransactionActions {
        var actions = SIPTransactionActions()
        guard let status = response.statusCode, (100...699).contains(status) else { return actions }
        switch state {
        case .calling, .proceeding:
            switch status {
            case 100...199:
                state = .proceeding
                actions.append(.deliverResponse(response))
                timers.cancel([.a, .b], &actions)
            case 200...299:
                state = .accepted
                actions.append(.deliverResponse(response))
                timers.cancel([.a, .b], &actions)
                timers.start(.m, after: timerValues.transactionTimeout, &actions)
            default:
                let ack = try? SIPMessage.ack(for: request, finalResponse: response)
                self.ack = ack
                if let ack { actions.append(.send(ack)) }
                actions.append(.deliverResponse(response))
                if reliability == .reliable {
                    terminate(.normal, &actions)
                } else {
                    state = .completed
                    timers.cancel([.a, .b], &actions)
                    timers.start(.d, after: timerValues.completedWait, &actions)
                }
            }
        case .completed:
            // A retransmitted final response: acknowledge it again, the TU already has it.
            if status >= 300, let ack { actions.append(.send(ack)) }
        case .accepted:
            if (200...299).contains(status) { actions.append(.deliverResponse(response)) }
        case .idle, .terminated:
            break
        }
        return actions
    }

    /// A timer this transaction started has fired.
    public mutating func timerFired(_ timer: SIPTransactionTimer) -> SIPTransactionActions {
        var actions = SIPTransactionActions()
        guard timers.fire(timer) else { return actions }
        switch (timer, state) {
        case (.a, .calling):
            actions.append(.send(request))
            retransmitInterval = retransmitInterval * 2
            timers.start(.a, after: retransmitInterval, &actions)
        case (.b, .calling):
            terminate(.timeout, &actions)
        case (.d, .completed), (.m, .accepted):
            terminate(.normal, &actions)
        default:
            break
        }
        return actions
    }

    /// The transport failed to send the INVITE or the ACK (§17.1.4). In Accepted the
    /// transaction sends nothing, so a failure there is not its own and is ignored.
    public mutating func transportFailed() -> SIPTransactionActions {
        var actions = SIPTransactionActions()
        switch state {
        case .calling, .proceeding, .completed:
            terminate(.transportError, &actions)
        case .idle, .accepted, .terminated:
            break
        }
        return actions
    }

    private mutating func terminate(_ reason: SIPTransactionTermination, _ actions: inout SIPTransactionActions) {
        state = .terminated
        timers.removeAll()
        actions.append(.terminate(reason))
    }
}
