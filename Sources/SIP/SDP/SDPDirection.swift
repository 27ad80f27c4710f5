/// A media direction attribute (RFC 8866 §6.7, RFC 3264 §5.1, §6.1), from the point of view of
/// the endpoint that wrote the description.
public enum SDPDirection: String, Hashable, Sendable, CaseIterable {
    case sendrecv
    case sendonly
    case recvonly
    case inactive

    public init(sends: Bool, receives: Bool) {
        switch (sends, receives) {
        case (true, true): self = .sendrecv
        case (true, false): self = .sendonly
        case (false, true): self = .recvonly
        case (false, false): self = .inactive
        }
    }

    public var sends: Bool { self == .sendrecv || self == .sendonly }
    public var receives: Bool { self == .sendrecv || self == .recvonly }

    /// The same stream seen from the other end: sendonly becomes recvonly and vice versa.
    public var reversed: SDPDirection {
        SDPDirection(sends: receives, receives: sends)
    }

    /// The direction an answerer writes for a stream offered with this direction, when the
    /// answerer itself would like `local` (RFC 3264 §6.1): it may only send what the offerer
    /// receives and receive what the offerer sends.
    ///
    /// `sendonly` is answered `recvonly`, `recvonly` is answered `sendonly`, `inactive` is
    /// answered `inactive`, and `sendrecv` is answered with `local`.
    public func answer(local: SDPDirection = .sendrecv) -> SDPDirection {
        SDPDirection(sends: receives && local.sends, receives: sends && local.receives)
    }

    /// Whether a stream offered with this direction is on hold: the offerer no longer wants to
    /// receive media (RFC 3264 §8.4, RFC 6337 §5.3).
    public var isHold: Bool { !receives }
}
