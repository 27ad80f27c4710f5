/// The messages the transaction layer builds itself, and the ones a TU derives from a pending
/// transaction.
extension SIPMessage {
    /// The ACK a client transaction sends for a non-2xx final response to `invite`
    /// (RFC 3261 §17.1.1.3): Request-URI, Call-ID, From and Route as in the INVITE, To as in
    /// the response (with its tag), a single Via equal to the INVITE's top Via (same branch),
    /// and the INVITE's CSeq number with method ACK.
    ///
    /// A 2xx is acknowledged by the TU in a new transaction (§13.2.2.4), not with this.
    public static func ack(for invite: SIPMessage, finalResponse response: SIPMessage) throws(SIPParseError) -> SIPMessage {
        try requestWithinTransaction(of: invite, method: .ack, to: response.headers[.to])
    }

    /// A CANCEL for a pending request (RFC 3261 §9.1): Request-URI, Call-ID, To, From, Route
    /// and the CSeq number as in the request, method CANCEL, and a single Via equal to the
    /// request's top Via, so it shares the request's branch. `reason` becomes a `Reason`
    /// header field (RFC 3326), e.g. `SIP;cause=200;text="Call completed elsewhere"`.
    ///
    /// Send it only once the INVITE has had a provisional response
    /// (``SIPInviteClientTransaction/canSendCancel``), in its own non-INVITE client transaction.
    public static func cancel(for request: SIPMessage, reason: String? = nil) throws(SIPParseError) -> SIPMessage {
        var cancel = try requestWithinTransaction(of: request, method: .cancel, to: request.headers[.to])
        if let reason { cancel.headers.add(.reason, reason) }
        return cancel
    }

    /// The `100 Trying` an INVITE server transaction sends when the TU is slow: the header
    /// fields of §8.2.6 without a To tag, plus the request's `Timestamp` (§8.2.6.1).
    public static func tryingResponse(to request: SIPMessage) -> SIPMessage {
        var trying = SIPMessage.response(to: request, statusCode: 100)
        if let timestamp = request.headers[.timestamp] { trying.headers.add(.timestamp, timestamp) }
        return trying
    }

    private static func requestWithinTransaction(of request: SIPMessage, method: SIPMethod, to: String?) throws(SIPParseError) -> SIPMessage {
        guard let uri = request.requestURI else {
            throw SIPParseError(.malformedStartLine, "\(method.rawValue) can only be built from a request")
        }
        guard let via = try request.topVia else { throw SIPParseError(.missingHeader(.via), "no Via") }
        let cseq = try request.cseq
        var headers = SIPHeaders()
        headers.add(.via, via.description)
        headers.add(.maxForwards, request.headers[.maxForwards] ?? "70")
        for route in request.headers.values(for: .route) { headers.add(.route, route) }
        if let to { headers.add(.to, to) }
        if let from = request.headers[.from] { headers.add(.from, from) }
        if let callID = request.callID { headers.add(.callID, callID) }
        headers.add(.cseq, SIPCSeq(sequence: cseq.sequence, method: method).description)
        return .request(method: method, uri: uri, headers: headers)
    }
}

extension SIPVia {
    /// A new RFC 3261 branch: the magic cookie followed by 20 random token characters
    /// (120 bits), unique across space and time for practical purposes (§8.1.1.7).
    public static func makeBranch() -> String {
        var generator = SIPRandom()
        return makeBranch(using: &generator)
    }

    /// A new RFC 3261 branch drawn from `generator`.
    public static func makeBranch(using generator: inout some RandomNumberGenerator) -> String {
        let cookie = SIPProtocol.branchMagicCookie.utf8
        let randomLength = 20
        return String(unsafeUninitializedCapacity: cookie.count + randomLength) { buffer in
            var index = 0
            for byte in cookie {
                buffer[index] = byte
                index += 1
            }
            var bits = generator.next()
            var remaining = 10
            for _ in 0..<randomLength {
                if remaining == 0 {
                    bits = generator.next()
                    remaining = 10
                }
                buffer[index] = branchAlphabet[Int(truncatingIfNeeded: bits & 0x3F)]
                bits >>= 6
                remaining -= 1
                index += 1
            }
            return index
        }
    }

    /// 64 `token` characters, so each draws 6 random bits.
    private static let branchAlphabet: [UInt8] = Array("0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ-.".utf8)
}
