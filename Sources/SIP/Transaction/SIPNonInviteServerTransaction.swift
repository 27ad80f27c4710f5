/// The non-INVITE server transaction of RFC 3261 §17.2.2.
///
/// ```
///  idle ──receiveRequest──▶ Trying ──1xx from TU──▶ Proceeding
///                             │                       │
///                             └──200–699 from TU──────┴──▶ Completed ──Timer J──▶ Terminated
/// ```
///
/// - Trying absorbs retransmitted requests; Proceeding and Completed answer them with the
///   latest response.
/// - Completed lasts 64·T1 (Timer J) on unreliable transports and ends at once on reliable ones.
public struct SIPNonInviteServerTransaction: Sendable {
    public enum State: Sendable, Hashable {
        /// Created; the request has not been passed to the TU yet.
        case idle
        case trying
        case proceeding
        case completed
        case terminated
    }

    public private(set) var state: State
    /// The request that created this transaction.
    public let request: SIPMessage
    public let reliability: SIPTransportReliability
    public let timerValues: SIPTimerValues
    /// The latest response sent, which retransmitted requests get again.
    public private(set) var lastResponse: SIPMessage?

    private var timers = SIPArmedTimers()

    public init(request: SIPMessage, reliability: SIPTransportReliability, timerValues: SIPTimerValues = SIPTimerValues()) {
        self.state = .idle
        self.request = request
        self.reliability = reliability
        self.timerValues = timerValues
        self.lastResponse = nil
    }

    /// The request that created the transaction arrived: pass it to the TU.
    public mutating func receiveRequest() -> SIPTransactionActions {
        var actions = SIPTransactionActions()
        guard state == .idle else { return actions }
        state = .trying
        actions.append(.deliverRequest(request))
        return actions
    }

    /// A retransmission of the request matched this transaction (§17.2.3).
    public mutating func receiveRetransmission() -> SIPTransactionActions {
        var actions = SIPTransactionActions()
        switch state {
        case .proceeding, .completed:
            if let lastResponse { actions.append(.send(lastResponse)) }
        case .idle, .trying, .terminated:
            break
        }
        return actions
    }

    /// The TU sends a response. Responses after the final one are dropped.
    public mutating func sendResponse(_ response: SIPMessage) -> SIPTransactionActions {
        var actions = SIPTransactionActions()
        guard let status = response.statusCode, (100...699).contains(status) else { return actions }
        switch state {
        case .trying, .proceeding:
            actions.append(.send(response))
            lastResponse = response
            if status < 200 {
                state = .proceeding
            } else if reliability == .reliable {
                terminate(.normal, &actions)
            } else {
                state = .completed
                timers.start(.j, after: timerValues.transactionTimeout, &actions)
            }
        case .idle, .completed, .terminated:
            break
        }
        return actions
    }

    /// A timer this transaction started has fired.
    public mutating func timerFired(_ timer: SIPTransactionTimer) -> SIPTransactionActions {
        var actions = SIPTransactionActions()
        guard timers.fire(timer) else { return actions }
        if timer == .j, state == .completed {
            terminate(.normal, &actions)
        }
        return actions
    }

    /// The transport failed to send a response (§17.2.4). In Trying nothing has been sent,
    /// so a failure there is not this transaction's and is ignored.
    public mutating func transportFailed() -> SIPTransactionActions {
        var actions = SIPTransactionActions()
        switch state {
        case .proceeding, .completed:
            terminate(.transportError, &actions)
        case .idle, .trying, .terminated:
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
