/// One thing the owner of a transaction must do after feeding it an event.
///
/// The four transaction machines (``SIPInviteClientTransaction``,
/// ``SIPNonInviteClientTransaction``, ``SIPInviteServerTransaction``,
/// ``SIPNonInviteServerTransaction``) are RFC 3261 §17 state machines without I/O: each event
/// method returns ``SIPTransactionActions`` and the owner (a SwiftNIO handler, a test) performs
/// them in order. Time never comes from a clock inside a machine: a timer is started with a
/// duration, the owner schedules it and reports it back with `timerFired(_:)`.
public enum SIPTransactionAction: Sendable, Hashable {
    /// Pass the message to the transport: the request, a retransmission, an ACK for a
    /// non-2xx final response, or a response of a server transaction.
    case send(SIPMessage)
    /// Pass a response to the transaction user (client transactions).
    case deliverResponse(SIPMessage)
    /// Pass a request to the transaction user: the request that created a server transaction,
    /// or an ACK that an INVITE server transaction receives in the RFC 6026 Accepted state.
    case deliverRequest(SIPMessage)
    /// Schedule the timer to fire after the duration, replacing an earlier schedule of the
    /// same timer. The owner reports it with `timerFired(_:)`.
    case startTimer(SIPTransactionTimer, after: Duration)
    /// Unschedule these timers. A cancelled timer that fires anyway is ignored.
    case cancelTimers(SIPTransactionTimers)
    /// The transaction is over: unschedule all its timers and remove it from the
    /// ``SIPTransactionTable``. A reason other than ``SIPTransactionTermination/normal``
    /// is a transaction failure the transaction user must learn about (§17.1.1.2, §17.2.4).
    case terminate(SIPTransactionTermination)
}

/// Why a transaction reached the Terminated state.
public enum SIPTransactionTermination: Sendable, Hashable {
    /// The transaction ran its course.
    case normal
    /// Timer B or F fired before a final response arrived, or Timer H fired before the ACK.
    case timeout
    /// The transport reported a failure while the transaction was sending.
    case transportError
}

/// The actions an event produced, in the order the owner must perform them.
///
/// A fixed-capacity inline collection: returning it allocates nothing. No event of the §17
/// machines produces more than ``capacity`` actions.
public struct SIPTransactionActions: Sendable, Hashable, RandomAccessCollection, CustomStringConvertible {
    public static let capacity = 4

    private var first: SIPTransactionAction?
    private var second: SIPTransactionAction?
    private var third: SIPTransactionAction?
    private var fourth: SIPTransactionAction?
    public private(set) var count: Int

    /// No actions.
    public init() {
        first = nil
        second = nil
        third = nil
        fourth = nil
        count = 0
    }

    public static var none: SIPTransactionActions { SIPTransactionActions() }

    public var startIndex: Int { 0 }
    public var endIndex: Int { count }

    public subscript(position: Int) -> SIPTransactionAction {
        precondition(position >= 0 && position < count, "SIPTransactionActions index out of range")
        switch position {
        case 0: return first!
        case 1: return second!
        case 2: return third!
        default: return fourth!
        }
    }

    mutating func append(_ action: SIPTransactionAction) {
        switch count {
        case 0: first = action
        case 1: second = action
        case 2: third = action
        case 3: fourth = action
        default: preconditionFailure("a transaction event produced more than \(Self.capacity) actions")
        }
        count += 1
    }

    public var description: String {
        "[" + map { "\($0)" }.joined(separator: ", ") + "]"
    }
}
