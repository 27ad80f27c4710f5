public import NIOCore

/// Why a DTLS endpoint failed. Each failure ends the endpoint; the media leg should be torn down.
public enum DTLSFailure: Error, Hashable, Sendable {
    /// The peer's certificate digest, with the hash function SDP named, is not the expected
    /// `a=fingerprint` (`actual` is `nil` when no certificate was presented).
    case fingerprintMismatch(expected: DTLSFingerprint, actual: DTLSFingerprint?)
    /// The handshake failed, with OpenSSL's reason (or the alert the peer sent).
    case handshakeFailed(reason: String)
    /// The handshake did not complete within the configured limit.
    case timedOut
    /// The handshake completed without an SRTP protection profile both sides offer.
    case noCommonSRTPProfile
    /// A fatal error after the handshake, with OpenSSL's reason.
    case connectionFailed(reason: String)
    /// OpenSSL could not set the endpoint up, with its reason.
    case setupFailed(reason: String)
}

/// What changed in a DTLS endpoint.
public enum DTLSEvent: Sendable, Hashable {
    /// The handshake completed, the peer's fingerprint matched and a profile was agreed:
    /// the SRTP keys, mapped to this side (`local` protects what this side sends).
    case connected(SRTPKeys)
    /// The endpoint failed.
    case failed(DTLSFailure)
    /// The peer sent close_notify (a close_notify answer is in the same output).
    case closed
}

/// What the caller does after an input to a DTLS endpoint: send the datagrams (in order, to the
/// peer's address), arm a timer for `nextTimer` (replacing any earlier one; `nil` cancels it) and
/// handle the event, if any.
public struct DTLSOutput: Sendable {
    /// DTLS datagrams to send, each at most the configured MTU.
    public var datagrams: [ByteBuffer]
    /// When to call ``DTLSEndpoint/timerFired(now:)`` next, or `nil` for no timer.
    public var nextTimer: NIODeadline?
    /// The event this input caused.
    public var event: DTLSEvent?

    /// An output; by default nothing to send, no timer and no event.
    public init(datagrams: [ByteBuffer] = [], nextTimer: NIODeadline? = nil, event: DTLSEvent? = nil) {
        self.datagrams = datagrams
        self.nextTimer = nextTimer
        self.event = event
    }
}
