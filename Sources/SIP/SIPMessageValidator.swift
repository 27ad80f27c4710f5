/// The checks a parsed message must pass before the layers above may rely on it.
enum SIPMessageValidator {
    private static let mandatory: [SIPHeaderName] = [.to, .from, .cseq, .callID, .via]
    private static let singletons: [SIPHeaderName] = [.to, .from, .cseq, .callID, .maxForwards, .contentType]

    /// Checks `message` and returns what it parsed on the way.
    static func validate(_ message: SIPMessage) throws(SIPParseError) -> SIPParsedFields {
        let headers = message.headers
        for name in mandatory where !headers.contains(name) {
            throw SIPParseError(.missingHeader(name), "missing \(name.canonical)")
        }
        for name in singletons where headers.count(of: name) > 1 {
            throw SIPParseError(.duplicateHeader(name), "\(name.canonical) appears more than once")
        }
        let vias = try message.vias
        guard let topVia = vias.first else { throw SIPParseError(.missingHeader(.via), "empty Via") }
        let from = try message.from
        let to = try message.to
        let cseq = try message.cseq
        if let callID = message.callID, !SIPScalar.isCallID(callID) {
            throw SIPParseError(.malformedHeader(.callID), "Call-ID is not word[@word]")
        }
        _ = try message.maxForwards
        let contacts = try message.contacts
        let routes = try message.routes
        let recordRoutes = try message.recordRoutes
        _ = try message.contentType
        if case .request(let line) = message.startLine {
            guard cseq.method == line.method else {
                throw SIPParseError(.cseqMethodMismatch, "CSeq method \(cseq.method) differs from request method")
            }
            if let uri = line.uri.sipURI, !uri.headers.isEmpty {
                throw SIPParseError(.requestURIWithHeaders, "Request-URI carries URI headers")
            }
        }
        return SIPParsedFields(
            vias: vias, topVia: topVia, from: from, to: to, cseq: cseq, contacts: contacts, routes: routes, recordRoutes: recordRoutes
        )
    }
}

/// Findings about a message that parsed, which an application may act on (RFC 4475 §3.3).
public enum SIPSemanticIssue: Sendable, Hashable {
    /// The Request-URI is not a SIP or SIPS URI: answer 416 (Unsupported URI Scheme).
    case unsupportedRequestURIScheme(String)
    /// `From`, `To` or `Contact` holds a URI that is neither SIP nor SIPS.
    case nonSIPAddress(SIPHeaderName)
    /// `Date` is not an RFC 1123 date in GMT (RFC 3261 §20.17).
    case invalidDate
    /// `Max-Forwards` is zero: a proxy answers 483 (Too Many Hops).
    case maxForwardsExhausted

    /// The status an element that cannot act on the message answers with, if any.
    public var suggestedStatus: Int? {
        switch self {
        case .unsupportedRequestURIScheme: return 416
        case .nonSIPAddress, .invalidDate: return 400
        case .maxForwardsExhausted: return 483
        }
    }
}

extension SIPMessage {
    /// Findings that do not make the message unparseable but that a UAS, registrar or proxy
    /// has to consider.
    public var semanticIssues: [SIPSemanticIssue] {
        var issues: [SIPSemanticIssue] = []
        if case .request(let line) = startLine, line.uri.sipURI == nil {
            issues.append(.unsupportedRequestURIScheme(line.uri.scheme))
        }
        for name in [SIPHeaderName.from, .to] {
            let address: SIPNameAddress?
            if let parsed {
                address = name == .from ? parsed.from : parsed.to
            } else {
                address = try? singleAddressIfPresent(name)
            }
            if let address, address.sipURI == nil {
                issues.append(.nonSIPAddress(name))
            }
        }
        if let contacts = try? contacts, contacts.addresses.contains(where: { $0.sipURI == nil }) {
            issues.append(.nonSIPAddress(.contact))
        }
        if let date = headers[.date], !SIPDate.isValid(date) {
            issues.append(.invalidDate)
        }
        if isRequest, (try? maxForwards) == 0 {
            issues.append(.maxForwardsExhausted)
        }
        return issues
    }

    private func singleAddressIfPresent(_ name: SIPHeaderName) throws(SIPParseError) -> SIPNameAddress? {
        guard let value = headers[name] else { return nil }
        return try SIPNameAddress(parsing: value)
    }
}

/// `SIP-date = rfc1123-date`: `wkday "," SP 2DIGIT SP month SP 4DIGIT SP time SP "GMT"`.
enum SIPDate {
    private static let weekdays: Set<String> = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]
    private static let months: Set<String> = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]

    static func isValid(_ text: String) -> Bool {
        let parts = text.split(separator: " ", omittingEmptySubsequences: false)
        guard parts.count == 6,
              parts[0].count == 4, parts[0].last == ",", weekdays.contains(String(parts[0].dropLast())),
              parts[1].count == 2, parts[1].allSatisfy(\.isASCIIDigit),
              months.contains(String(parts[2])),
              parts[3].count == 4, parts[3].allSatisfy(\.isASCIIDigit),
              parts[5] == "GMT"
        else { return false }
        let time = parts[4].split(separator: ":", omittingEmptySubsequences: false)
        return time.count == 3 && time.allSatisfy { $0.count == 2 && $0.allSatisfy(\.isASCIIDigit) }
    }
}

extension Character {
    fileprivate var isASCIIDigit: Bool { isASCII && isWholeNumber }
}
