public import NIOCore

/// Something the ICE-lite agent reports to the media session.
public enum ICEEvent: Sendable, Hashable {
    /// A valid check with USE-CANDIDATE nominated this remote address: send media here from now on.
    case selectedAddressChanged(SocketAddress)
    /// No valid check arrived within the connectivity timeout (or checks stopped before any
    /// address was nominated). The agent has failed.
    case noConnectivity
    /// After nomination, no valid check arrived from the selected address for the consent
    /// timeout (RFC 7675 §5.1). The agent has failed; stop sending media.
    case consentExpired
}

/// What the agent made of one incoming datagram.
public enum ICECheckOutcome: Sendable, Hashable {
    /// An authenticated binding request, answered with a success response.
    case valid
    /// A request without USERNAME or MESSAGE-INTEGRITY, answered with 400.
    case badRequest
    /// A request whose USERNAME or MESSAGE-INTEGRITY does not match the credentials, answered
    /// with 401.
    case unauthorized
    /// An authenticated request with comprehension-required attributes this agent does not
    /// understand, answered with 420.
    case unknownAttributes
    /// An authenticated request with ICE-CONTROLLED: the peer wants to be controlled too.
    /// Answered with 487, since a lite agent is always controlled (RFC 8445 §7.3.1.1).
    case roleConflict
    /// Not STUN, malformed, or a FINGERPRINT that does not verify: dropped.
    case malformed
    /// Indications (keepalives), responses, other methods, or anything after the agent failed:
    /// dropped without an answer.
    case ignored
}

/// The result of ``ICELiteAgent/receive(_:from:now:)``.
public struct ICEAction: Sendable {
    /// The STUN message to send back to the source address, if any.
    public var response: STUNDatagram?
    /// A change the media session must act on, if any.
    public var event: ICEEvent?
    /// How the datagram was classified.
    public var outcome: ICECheckOutcome
}

/// Counters of what the agent received.
public struct ICEStatistics: Sendable, Hashable {
    /// Authenticated checks answered with success.
    public var validChecks = 0
    /// Nominations that changed the selected address.
    public var nominations = 0
    /// Requests answered with 400.
    public var badRequests = 0
    /// Requests answered with 401.
    public var unauthorized = 0
    /// Requests answered with 420.
    public var unknownAttributes = 0
    /// Requests answered with 487.
    public var roleConflicts = 0
    /// Datagrams dropped as not STUN or with a bad FINGERPRINT.
    public var malformed = 0
    /// Datagrams dropped without an answer for any other reason.
    public var ignored = 0

    /// All counters at zero.
    public init() {}
}

/// The ICE-lite agent of one WebRTC media session (RFC 8445 §2.5): always controlled, it only
/// answers the browser's connectivity checks, selects the address the browser nominates, and
/// watches the checks as consent freshness (RFC 7675).
///
/// A sans-I/O state machine: datagrams and the time go in, responses to send and events come
/// out. The clock is injected, so every timer is tested without sleeping. Answering a check
/// allocates nothing in the agent (the parse reuses one message, the answer is inline).
public struct ICELiteAgent {
    /// The timeouts.
    public struct Configuration: Sendable, Hashable {
        /// How long after start (or an ICE restart before connectivity) a first valid check may
        /// take before ``ICEEvent/noConnectivity``.
        public var connectivityTimeout: TimeAmount
        /// How long after the last valid check from the selected address consent lasts
        /// (RFC 7675 §5.1: 30 s).
        public var consentTimeout: TimeAmount

        /// Timeouts; the defaults are 10 s and 30 s.
        public init(connectivityTimeout: TimeAmount = .seconds(10), consentTimeout: TimeAmount = .seconds(30)) {
            self.connectivityTimeout = connectivityTimeout
            self.consentTimeout = consentTimeout
        }
    }

    /// Where the agent is.
    public enum State: Sendable, Hashable {
        /// Waiting for the first valid check since `since`.
        case checking(since: NIODeadline)
        /// Valid checks arrive; the last counted one at `lastValidCheck`.
        case connected(lastValidCheck: NIODeadline)
        /// A timer fired; the agent answers nothing more.
        case failed(ICEEvent)
    }

    /// The timeouts in force.
    public let configuration: Configuration
    /// Where the agent is.
    public private(set) var state: State
    /// The gateway's `ice-ufrag` and `ice-pwd`.
    public private(set) var localCredentials: ICECredentials
    /// The browser's, once known.
    public private(set) var remoteCredentials: ICECredentials?
    /// The remote address media goes to: the last one a valid check nominated.
    public private(set) var selectedAddress: SocketAddress?
    /// What the agent received, counted.
    public private(set) var statistics = ICEStatistics()

    private var localKey: STUNIntegrityKey
    /// `localUfrag:` as bytes.
    private var usernamePrefix: [UInt8]
    private var remoteFragment: [UInt8]?
    /// The message every datagram is parsed into, reused.
    private var message = STUNMessage()

    /// An agent started at `now` with its own credentials and, once the offer or answer
    /// carried them, the browser's.
    public init(local: ICECredentials, remote: ICECredentials? = nil, configuration: Configuration = Configuration(), now: NIODeadline) {
        self.configuration = configuration
        self.state = .checking(since: now)
        self.localCredentials = local
        self.remoteCredentials = remote
        self.localKey = STUNIntegrityKey.shortTerm(password: local.password)
        self.usernamePrefix = Array(local.usernameFragment.utf8) + [UInt8(ascii: ":")]
        self.remoteFragment = remote.map { Array($0.usernameFragment.utf8) }
    }

    /// Sets the browser's credentials once they are known; from then on the USERNAME of a
    /// check must end with its fragment.
    public mutating func setRemoteCredentials(_ remote: ICECredentials) {
        remoteCredentials = remote
        remoteFragment = Array(remote.usernameFragment.utf8)
    }

    /// An ICE restart (RFC 8445 §9): new credentials on both sides. Checks must use the new
    /// ones at once; the selected address stays until a check with them nominates another.
    /// Before connectivity, the connectivity timeout starts again at `now`.
    public mutating func restart(local: ICECredentials, remote: ICECredentials?, now: NIODeadline) {
        localCredentials = local
        localKey = STUNIntegrityKey.shortTerm(password: local.password)
        usernamePrefix = Array(local.usernameFragment.utf8) + [UInt8(ascii: ":")]
        remoteCredentials = remote
        remoteFragment = remote.map { Array($0.usernameFragment.utf8) }
        if case .checking = state { state = .checking(since: now) }
    }

    /// When ``tick(now:)`` must be called next; nil once the agent has failed.
    public var nextDeadline: NIODeadline? {
        switch state {
        case .checking(let since):
            return since + configuration.connectivityTimeout
        case .connected(let lastValidCheck):
            return lastValidCheck + configuration.consentTimeout
        case .failed:
            return nil
        }
    }

    /// Fires the timer whose deadline has passed: ``ICEEvent/noConnectivity`` or
    /// ``ICEEvent/consentExpired``, each at most once, after which the agent has failed.
    public mutating func tick(now: NIODeadline) -> ICEEvent? {
        guard let deadline = nextDeadline, now >= deadline else { return nil }
        let event: ICEEvent = selectedAddress == nil ? .noConnectivity : .consentExpired
        state = .failed(event)
        return event
    }

    /// Handles one datagram that arrived from `source` at `now` (the caller has classified it
    /// as STUN; anything else is counted as malformed). Returns the answer to send back to
    /// `source` and the event, if the selected address changed or a timer had expired.
    public mutating func receive(_ bytes: UnsafeRawBufferPointer, from source: SocketAddress, now: NIODeadline) -> ICEAction {
        if let expired = tick(now: now) {
            statistics.ignored += 1
            return ICEAction(response: nil, event: expired, outcome: .ignored)
        }
        if case .failed = state {
            statistics.ignored += 1
            return ICEAction(response: nil, event: nil, outcome: .ignored)
        }
        do throws(STUNParseError) {
            try message.parse(bytes)
        } catch {
            statistics.malformed += 1
            return ICEAction(response: nil, event: nil, outcome: .malformed)
        }
        if message.fingerprint != nil, !message.verifyFingerprint(in: bytes) {
            statistics.malformed += 1
            return ICEAction(response: nil, event: nil, outcome: .malformed)
        }
        guard message.type == .bindingRequest, let mapped = STUNTransportAddress(source) else {
            statistics.ignored += 1
            return ICEAction(response: nil, event: nil, outcome: .ignored)
        }

        // RFC 8489 §9.1.3: authentication first.
        guard let username = message.usernameRange, message.messageIntegrity != nil else {
            statistics.badRequests += 1
            return ICEAction(response: errorResponse(STUNErrorCode.badRequest, reason: "Bad Request", authenticated: false), event: nil, outcome: .badRequest)
        }
        guard matchesCredentials(UnsafeRawBufferPointer(rebasing: bytes[username])), message.verifyMessageIntegrity(in: bytes, key: localKey) else {
            statistics.unauthorized += 1
            return ICEAction(response: errorResponse(STUNErrorCode.unauthorized, reason: "Unauthorized", authenticated: false), event: nil, outcome: .unauthorized)
        }
        if message.unknownComprehensionRequiredCount > 0 {
            statistics.unknownAttributes += 1
            return ICEAction(response: errorResponse(STUNErrorCode.unknownAttribute, reason: "Unknown Attribute", authenticated: true), event: nil, outcome: .unknownAttributes)
        }
        if message.iceControlled != nil {
            statistics.roleConflicts += 1
            return ICEAction(response: errorResponse(STUNErrorCode.roleConflict, reason: "Role Conflict", authenticated: true), event: nil, outcome: .roleConflict)
        }

        statistics.validChecks += 1
        var event: ICEEvent?
        if message.useCandidate, selectedAddress != source {
            selectedAddress = source
            statistics.nominations += 1
            event = .selectedAddressChanged(source)
        }
        // Consent is refreshed by checks on the selected pair; before nomination by any check.
        if selectedAddress == nil || selectedAddress == source {
            state = .connected(lastValidCheck: now)
        }
        let key = localKey
        let response = try? STUNDatagram(type: .bindingSuccess, transactionID: message.transactionID) { writer throws(STUNEncodeError) in
            try writer.appendXORMappedAddress(mapped)
            try writer.appendMessageIntegrity(key: key)
            try writer.appendFingerprint()
        }
        return ICEAction(response: response, event: event, outcome: .valid)
    }

    /// ``receive(_:from:now:)`` for an array.
    public mutating func receive(_ bytes: [UInt8], from source: SocketAddress, now: NIODeadline) -> ICEAction {
        bytes.withUnsafeBytes { receive($0, from: source, now: now) }
    }

    /// Whether USERNAME is `localUfrag:remoteUfrag` (any remote fragment while the remote
    /// credentials are unknown).
    private func matchesCredentials(_ username: UnsafeRawBufferPointer) -> Bool {
        let prefix = usernamePrefix
        guard username.count > prefix.count, Self.equal(username, from: 0, prefix) else { return false }
        guard let remote = remoteFragment else { return true }
        return username.count == prefix.count + remote.count && Self.equal(username, from: prefix.count, remote)
    }

    /// Whether `bytes[offset...]` starts with `expected` (index loops: no generic iterators on
    /// the per-check path).
    private static func equal(_ bytes: UnsafeRawBufferPointer, from offset: Int, _ expected: [UInt8]) -> Bool {
        guard bytes.count - offset >= expected.count else { return false }
        var index = 0
        while index < expected.count {
            if bytes[offset + index] != expected[index] { return false }
            index += 1
        }
        return true
    }

    /// An error response to the current message; with MESSAGE-INTEGRITY when the request
    /// authenticated, always with FINGERPRINT.
    private func errorResponse(_ code: Int, reason: String, authenticated: Bool) -> STUNDatagram? {
        let key = localKey
        let unknown = code == STUNErrorCode.unknownAttribute ? Array(message.unknownComprehensionRequiredAttributes.prefix(8)) : []
        return try? STUNDatagram(type: .bindingError, transactionID: message.transactionID) { writer throws(STUNEncodeError) in
            try writer.appendErrorCode(code, reason: reason)
            if !unknown.isEmpty { try writer.appendUnknownAttributes(unknown) }
            if authenticated { try writer.appendMessageIntegrity(key: key) }
            try writer.appendFingerprint()
        }
    }
}
