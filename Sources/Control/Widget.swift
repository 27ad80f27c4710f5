public import Foundation

/// A "Call Me" button a shop puts on its pages, and where its calls go.
public struct Widget: Sendable, Equatable, Codable {
    public var id: String
    public var name: String
    public var label: String?
    public var appearance: Appearance
    public var destination: String
    public var allowedOrigins: [String]
    public var video: Bool
    public var recording: RecordingPolicy
    public var enabled: Bool
    /// Asked at each call where it should go, when set.
    public var routingWebhook: RoutingWebhook?
    public var createdAt: Date
    public var updatedAt: Date

    public init(
        id: String, name: String, label: String?, appearance: Appearance, destination: String,
        allowedOrigins: [String], video: Bool, recording: RecordingPolicy, enabled: Bool,
        routingWebhook: RoutingWebhook? = nil, createdAt: Date, updatedAt: Date
    ) {
        self.id = id
        self.name = name
        self.label = label
        self.appearance = appearance
        self.destination = destination
        self.allowedOrigins = allowedOrigins
        self.video = video
        self.recording = recording
        self.enabled = enabled
        self.routingWebhook = routingWebhook
        self.createdAt = createdAt
        self.updatedAt = updatedAt
    }

    public static let idPrefix = "wid"

    /// The button text: the widget's own label, else the default for its language.
    public var effectiveLabel: String {
        label ?? Appearance.defaultLabel(language: appearance.language ?? "en")
    }

    /// Whether a page served from `origin` may use this widget without an API key.
    public func allows(origin: String) -> Bool {
        allowedOrigins.contains(Origin.normalize(origin))
    }
}

/// How the button looks. Unset fields take the defaults of ``Appearance/defaults``.
public struct Appearance: Sendable, Equatable, Codable {
    public var primaryColor: String?
    public var textColor: String?
    public var position: String?
    public var shape: String?
    public var language: String?

    public init(primaryColor: String? = nil, textColor: String? = nil, position: String? = nil, shape: String? = nil, language: String? = nil) {
        self.primaryColor = primaryColor
        self.textColor = textColor
        self.position = position
        self.shape = shape
        self.language = language
    }

    /// A dark blue with white text: 6.7:1 contrast, above WCAG AA's 4.5:1.
    public static let defaults = Appearance(
        primaryColor: "#1D4ED8", textColor: "#FFFFFF", position: "bottom-right", shape: "pill", language: "en"
    )
    public static let positions: Set<String> = ["bottom-right", "bottom-left", "top-right", "top-left", "inline"]
    public static let shapes: Set<String> = ["round", "pill", "square"]

    /// Fields set in `patch` replace those here.
    public func merging(_ patch: Appearance) -> Appearance {
        Appearance(
            primaryColor: patch.primaryColor ?? primaryColor,
            textColor: patch.textColor ?? textColor,
            position: patch.position ?? position,
            shape: patch.shape ?? shape,
            language: patch.language ?? language
        )
    }

    static func defaultLabel(language: String) -> String {
        switch language.prefix(2).lowercased() {
        case "de": "Rückruf anfordern"
        case "fr": "Appelez-nous"
        case "es": "Llámenos"
        default: "Call us"
        }
    }

    func validate(at pointer: String, into errors: inout [FieldError]) {
        for (field, value) in [("primaryColor", primaryColor), ("textColor", textColor)] {
            if let value, !Self.isHexColor(value) {
                errors.append(FieldError(pointer: "\(pointer)/\(field)", detail: "must be a colour like #1D4ED8"))
            }
        }
        if let position, !Self.positions.contains(position) {
            errors.append(FieldError(pointer: "\(pointer)/position", detail: "must be one of \(Self.positions.sorted().joined(separator: ", "))"))
        }
        if let shape, !Self.shapes.contains(shape) {
            errors.append(FieldError(pointer: "\(pointer)/shape", detail: "must be one of \(Self.shapes.sorted().joined(separator: ", "))"))
        }
        if let language, !Self.isLanguageTag(language) {
            errors.append(FieldError(pointer: "\(pointer)/language", detail: "must be a BCP 47 language tag such as en or de-CH"))
        }
    }

    static func isHexColor(_ text: String) -> Bool {
        let utf8 = Array(text.utf8)
        return utf8.count == 7 && utf8[0] == UInt8(ascii: "#") && utf8.dropFirst().allSatisfy(\.isHexDigit)
    }

    static func isLanguageTag(_ text: String) -> Bool {
        let parts = text.split(separator: "-", omittingEmptySubsequences: false)
        guard let first = parts.first, (2...3).contains(first.count), first.utf8.allSatisfy(\.isLetter) else { return false }
        return parts.dropFirst().allSatisfy { (2...8).contains($0.count) && $0.utf8.allSatisfy { $0.isLetter || $0.isDigit } }
    }
}

/// Whether calls of a widget are recorded from the answer on, and announced.
public struct RecordingPolicy: Sendable, Equatable, Codable {
    public var auto: Bool
    public var announce: Bool

    public init(auto: Bool = false, announce: Bool = false) {
        self.auto = auto
        self.announce = announce
    }

    /// Fields set in `patch` replace those here.
    public func merging(auto: Bool?, announce: Bool?) -> RecordingPolicy {
        RecordingPolicy(auto: auto ?? self.auto, announce: announce ?? self.announce)
    }
}

/// A web origin, `scheme://host[:port]`, compared exactly after lower-casing.
public enum Origin {
    public static func normalize(_ text: String) -> String { text.lowercased() }

    /// `nil` when valid, else what is wrong.
    static func problem(_ text: String) -> String? {
        let lower = normalize(text)
        let rest: Substring
        if lower.hasPrefix("https://") {
            rest = lower.dropFirst(8)
        } else if lower.hasPrefix("http://") {
            rest = lower.dropFirst(7)
        } else {
            return "must start with http:// or https://"
        }
        guard !rest.isEmpty, text.utf8.count <= 255 else { return "must name a host" }
        guard !rest.contains(where: { "/?#@ \\".contains($0) }) else {
            return "must be an origin only: no path, query, fragment or user"
        }
        var host = rest
        if let colon = rest.lastIndex(of: ":"), !rest.hasSuffix("]") {
            host = rest[..<colon]
            let port = rest[rest.index(after: colon)...]
            guard let number = Int(port), (1...65535).contains(number), port.utf8.allSatisfy(\.isDigit) else {
                return "has an invalid port"
            }
        }
        guard !host.isEmpty else { return "must name a host" }
        if host.hasPrefix("[") { return host.hasSuffix("]") ? nil : "has an invalid IPv6 host" }
        let valid = host.utf8.allSatisfy { $0.isLetter || $0.isDigit || $0 == UInt8(ascii: "-") || $0 == UInt8(ascii: ".") }
        return valid ? nil : "has an invalid host"
    }
}

extension UInt8 {
    var isHexDigit: Bool { isDigit || (UInt8(ascii: "a")...UInt8(ascii: "f")).contains(self) || (UInt8(ascii: "A")...UInt8(ascii: "F")).contains(self) }
    var isDigit: Bool { (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(self) }
    var isLetter: Bool { (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(self | 0x20) }
}

/// Routing by the CRM: when a call arrives, Switchboard POSTs the caller context to `url` and
/// waits at most `timeoutMilliseconds` for `{destination, headers}`. The destination must be
/// one of `allowedDestinations`; on a timeout, an error or anything else the widget's own
/// destination is used.
public struct RoutingWebhook: Sendable, Equatable, Codable {
    public var url: String
    public var timeoutMilliseconds: Int
    /// SIP URIs or trunk ids the CRM may choose (agents, queues).
    public var allowedDestinations: [String]

    public static let defaultTimeoutMilliseconds = 2000

    public init(url: String, timeoutMilliseconds: Int = RoutingWebhook.defaultTimeoutMilliseconds, allowedDestinations: [String]) {
        self.url = url
        self.timeoutMilliseconds = timeoutMilliseconds
        self.allowedDestinations = allowedDestinations
    }

    func validate(into errors: inout [FieldError]) {
        if let problem = WebhookService.urlProblem(url) { errors.append(FieldError(pointer: "/routingWebhook/url", detail: problem)) }
        if !(100...10_000).contains(timeoutMilliseconds) {
            errors.append(FieldError(pointer: "/routingWebhook/timeoutMilliseconds", detail: "must be 100 to 10000"))
        }
        if allowedDestinations.isEmpty || allowedDestinations.count > 100 {
            errors.append(FieldError(pointer: "/routingWebhook/allowedDestinations", detail: "must list 1 to 100 destinations"))
        }
        for (index, destination) in allowedDestinations.enumerated() {
            if let problem = Destination.problem(destination) {
                errors.append(FieldError(pointer: "/routingWebhook/allowedDestinations/\(index)", detail: problem))
            }
        }
    }
}

/// What the signalling plane asks the CRM when a call with a routing webhook arrives.
public struct RoutingQuery: Sendable {
    public var callId: String
    public var widgetId: String
    public var sessionId: String
    public var contextJSON: String
    public var contextVerified: Bool
    public var userAgent: String?
    public var from: String

    public init(callId: String, widgetId: String, sessionId: String, contextJSON: String, contextVerified: Bool, userAgent: String?, from: String) {
        self.callId = callId
        self.widgetId = widgetId
        self.sessionId = sessionId
        self.contextJSON = contextJSON
        self.contextVerified = contextVerified
        self.userAgent = userAgent
        self.from = from
    }
}

/// The CRM's answer: where the call goes, and headers to add to the call centre's INVITE.
public struct RoutingDecision: Sendable, Equatable {
    public var destination: String
    public var headers: [String: String]

    public init(destination: String, headers: [String: String]) {
        self.destination = destination
        self.headers = headers
    }
}

/// Asks a widget's routing webhook; `nil` means "use the widget's destination".
public protocol CallRouting: Sendable {
    func route(_ query: RoutingQuery, webhook: RoutingWebhook) async -> RoutingDecision?
}
