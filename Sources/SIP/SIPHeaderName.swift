/// A header field name. Names compare case-insensitively and compact forms are the same name
/// as their long forms (`v` is `Via`). Known names serialize in their canonical long spelling;
/// unknown names keep the spelling they were parsed with.
public struct SIPHeaderName: Sendable, Hashable, CustomStringConvertible, ExpressibleByStringLiteral {
    /// The spelling written on the wire.
    public let canonical: String
    /// The lowercased long form, used for comparison.
    let key: String

    private init(canonical: String, key: String) {
        self.canonical = canonical
        self.key = key
    }

    /// Looks up a known name (any case, long or compact form); any other token is kept as
    /// written.
    public init(_ name: String) {
        if let known = Self.byKey[name] ?? Self.byKey[name.lowercased()] {
            self = known
        } else {
            self.init(canonical: name, key: name.lowercased())
        }
    }

    public init(stringLiteral value: String) { self.init(value) }

    /// Whether this is one of the names this module knows (and serializes canonically).
    public var isKnown: Bool { Self.byKey[key] != nil }

    public var description: String { canonical }

    public static func == (lhs: SIPHeaderName, rhs: SIPHeaderName) -> Bool { lhs.key == rhs.key }
    public func hash(into hasher: inout Hasher) { hasher.combine(key) }

    private static func known(_ canonical: String) -> SIPHeaderName {
        SIPHeaderName(canonical: canonical, key: canonical.lowercased())
    }

    public static let accept = known("Accept")
    public static let acceptEncoding = known("Accept-Encoding")
    public static let acceptLanguage = known("Accept-Language")
    public static let alertInfo = known("Alert-Info")
    public static let allow = known("Allow")
    public static let allowEvents = known("Allow-Events")
    public static let authenticationInfo = known("Authentication-Info")
    public static let authorization = known("Authorization")
    public static let callID = known("Call-ID")
    public static let callInfo = known("Call-Info")
    public static let contact = known("Contact")
    public static let contentDisposition = known("Content-Disposition")
    public static let contentEncoding = known("Content-Encoding")
    public static let contentLanguage = known("Content-Language")
    public static let contentLength = known("Content-Length")
    public static let contentType = known("Content-Type")
    public static let cseq = known("CSeq")
    public static let date = known("Date")
    public static let errorInfo = known("Error-Info")
    public static let event = known("Event")
    public static let expires = known("Expires")
    public static let from = known("From")
    public static let inReplyTo = known("In-Reply-To")
    public static let maxForwards = known("Max-Forwards")
    public static let minExpires = known("Min-Expires")
    public static let minSE = known("Min-SE")
    public static let mimeVersion = known("MIME-Version")
    public static let organization = known("Organization")
    public static let pAssertedIdentity = known("P-Asserted-Identity")
    public static let priority = known("Priority")
    public static let proxyAuthenticate = known("Proxy-Authenticate")
    public static let proxyAuthorization = known("Proxy-Authorization")
    public static let proxyRequire = known("Proxy-Require")
    public static let rack = known("RAck")
    public static let reason = known("Reason")
    public static let recordRoute = known("Record-Route")
    public static let referTo = known("Refer-To")
    public static let referredBy = known("Referred-By")
    public static let replaces = known("Replaces")
    public static let replyTo = known("Reply-To")
    public static let require = known("Require")
    public static let retryAfter = known("Retry-After")
    public static let route = known("Route")
    public static let rseq = known("RSeq")
    public static let server = known("Server")
    public static let sessionExpires = known("Session-Expires")
    public static let subject = known("Subject")
    public static let subscriptionState = known("Subscription-State")
    public static let supported = known("Supported")
    public static let timestamp = known("Timestamp")
    public static let to = known("To")
    public static let unsupported = known("Unsupported")
    public static let userAgent = known("User-Agent")
    public static let via = known("Via")
    public static let warning = known("Warning")
    public static let wwwAuthenticate = known("WWW-Authenticate")

    private static let all: [SIPHeaderName] = [
        accept, acceptEncoding, acceptLanguage, alertInfo, allow, allowEvents, authenticationInfo,
        authorization, callID, callInfo, contact, contentDisposition, contentEncoding, contentLanguage,
        contentLength, contentType, cseq, date, errorInfo, event, expires, from, inReplyTo, maxForwards,
        minExpires, minSE, mimeVersion, organization, pAssertedIdentity, priority, proxyAuthenticate,
        proxyAuthorization, proxyRequire, rack, reason, recordRoute, referTo, referredBy, replaces,
        replyTo, require, retryAfter, route, rseq, server, sessionExpires, subject, subscriptionState,
        supported, timestamp, to, unsupported, userAgent, via, warning, wwwAuthenticate,
    ]

    /// Compact forms (RFC 3261 §7.3.3 and the extensions that define them).
    private static let compact: [String: SIPHeaderName] = [
        "i": callID, "m": contact, "e": contentEncoding, "l": contentLength, "c": contentType,
        "f": from, "s": subject, "k": supported, "t": to, "v": via, "o": event, "r": referTo,
        "u": allowEvents, "x": sessionExpires, "b": referredBy,
    ]

    /// Keys: lowercased long forms, canonical spellings and compact forms in both cases.
    private static let byKey: [String: SIPHeaderName] = {
        var table: [String: SIPHeaderName] = [:]
        for name in all {
            table[name.key] = name
            table[name.canonical] = name
        }
        for (letter, name) in compact {
            table[letter] = name
            table[letter.uppercased()] = name
        }
        return table
    }()
}
