public import Foundation


/// The fields of a new widget as a caller gives them; unset ones take defaults.
public struct WidgetDraft: Sendable {
    public var name: String
    public var label: String?
    public var appearance: Appearance?
    public var destination: String
    public var allowedOrigins: [String]?
    public var video: Bool?
    public var recording: RecordingChanges?
    public var enabled: Bool?
    public var routingWebhook: RoutingWebhook?

    public init(
        name: String, label: String? = nil, appearance: Appearance? = nil, destination: String,
        allowedOrigins: [String]? = nil, video: Bool? = nil, recording: RecordingChanges? = nil, enabled: Bool? = nil,
        routingWebhook: RoutingWebhook? = nil
    ) {
        self.name = name
        self.label = label
        self.appearance = appearance
        self.destination = destination
        self.allowedOrigins = allowedOrigins
        self.video = video
        self.recording = recording
        self.enabled = enabled
        self.routingWebhook = routingWebhook
    }
}

/// A partial change: `nil` leaves a field alone. `label: .some(nil)` resets the label.
public struct WidgetChanges: Sendable {
    public var name: String?
    public var label: String??
    public var appearance: Appearance?
    public var destination: String?
    public var allowedOrigins: [String]?
    public var video: Bool?
    public var recording: RecordingChanges?
    public var enabled: Bool?
    /// `.some(nil)` removes the routing webhook.
    public var routingWebhook: RoutingWebhook??

    public init(
        name: String? = nil, label: String?? = nil, appearance: Appearance? = nil, destination: String? = nil,
        allowedOrigins: [String]? = nil, video: Bool? = nil, recording: RecordingChanges? = nil, enabled: Bool? = nil,
        routingWebhook: RoutingWebhook?? = nil
    ) {
        self.name = name
        self.label = label
        self.appearance = appearance
        self.destination = destination
        self.allowedOrigins = allowedOrigins
        self.video = video
        self.recording = recording
        self.enabled = enabled
        self.routingWebhook = routingWebhook
    }
}

/// Recording settings to change; unset fields stay as they are.
public struct RecordingChanges: Sendable {
    public var auto: Bool?
    public var announce: Bool?

    public init(auto: Bool? = nil, announce: Bool? = nil) {
        self.auto = auto
        self.announce = announce
    }

    func applied(to policy: RecordingPolicy) -> RecordingPolicy {
        policy.merging(auto: auto, announce: announce)
    }
}

/// Who is asking for a widget session.
public enum SessionRequester: Sendable {
    /// The shop's backend, with an API key: its context is trusted.
    case backend(APIKey)
    /// A page in a browser: only its `Origin` (if any) and address are known.
    case page(origin: String?, clientAddress: String)
}

/// Widgets and widget sessions: the operations both API faces expose.
public struct WidgetService: Sendable {
    public let storage: any Storage
    public let clock: WallClock
    public let sessionLifetime: TimeInterval
    public let pageRateLimiter: RateLimiter

    public init(storage: any Storage, clock: WallClock = .system, sessionLifetime: TimeInterval = 600, pageRateLimiter: RateLimiter) {
        self.storage = storage
        self.clock = clock
        self.sessionLifetime = sessionLifetime
        self.pageRateLimiter = pageRateLimiter
    }

    public func create(_ draft: WidgetDraft) async throws -> Widget {
        var errors: [FieldError] = []
        Self.validate(name: draft.name, into: &errors)
        if let label = draft.label { Self.validate(label: label, into: &errors) }
        draft.appearance?.validate(at: "/appearance", into: &errors)
        Self.validate(destination: draft.destination, into: &errors)
        if let origins = draft.allowedOrigins { Self.validate(origins: origins, into: &errors) }
        draft.routingWebhook?.validate(into: &errors)
        guard errors.isEmpty else { throw ControlError.validation(errors) }

        let now = clock.now()
        let widget = Widget(
            id: Identifier.make(Widget.idPrefix, millis: clock.millis),
            name: draft.name,
            label: draft.label,
            appearance: Appearance.defaults.merging(draft.appearance ?? Appearance()),
            destination: draft.destination,
            allowedOrigins: (draft.allowedOrigins ?? []).map(Origin.normalize),
            video: draft.video ?? false,
            recording: draft.recording?.applied(to: RecordingPolicy()) ?? RecordingPolicy(),
            enabled: draft.enabled ?? true,
            routingWebhook: draft.routingWebhook,
            createdAt: now,
            updatedAt: now
        )
        try await storage.insert(widget: widget)
        return widget
    }

    public func get(id: String) async throws -> Widget {
        guard let widget = try await storage.widget(id: id) else { throw ControlError.notFound(kind: "widget", id: id) }
        return widget
    }

    public func list(limit: Int?, after: String?) async throws -> Page<Widget> {
        let request = try PageRequest(limit: limit, after: after, idPrefix: Widget.idPrefix)
        let rows = try await storage.widgets(after: request.after, limit: request.limit + 1)
        return request.page(rows, id: \.id)
    }

    public func update(id: String, _ changes: WidgetChanges) async throws -> Widget {
        var errors: [FieldError] = []
        if let name = changes.name { Self.validate(name: name, into: &errors) }
        if case .some(.some(let label)) = changes.label { Self.validate(label: label, into: &errors) }
        changes.appearance?.validate(at: "/appearance", into: &errors)
        if let destination = changes.destination { Self.validate(destination: destination, into: &errors) }
        if let origins = changes.allowedOrigins { Self.validate(origins: origins, into: &errors) }
        if case .some(.some(let routing)) = changes.routingWebhook { routing.validate(into: &errors) }
        guard errors.isEmpty else { throw ControlError.validation(errors) }

        var widget = try await get(id: id)
        if let name = changes.name { widget.name = name }
        if let label = changes.label { widget.label = label }
        if let appearance = changes.appearance { widget.appearance = widget.appearance.merging(appearance) }
        if let destination = changes.destination { widget.destination = destination }
        if let origins = changes.allowedOrigins { widget.allowedOrigins = origins.map(Origin.normalize) }
        if let video = changes.video { widget.video = video }
        if let recording = changes.recording { widget.recording = recording.applied(to: widget.recording) }
        if let enabled = changes.enabled { widget.enabled = enabled }
        if let routing = changes.routingWebhook { widget.routingWebhook = routing }
        widget.updatedAt = clock.now()
        guard try await storage.update(widget: widget) else { throw ControlError.notFound(kind: "widget", id: id) }
        return widget
    }

    public func delete(id: String) async throws {
        guard try await storage.deleteWidget(id: id) else { throw ControlError.notFound(kind: "widget", id: id) }
    }

    /// The widget as a page may see it: found, and its origin allowed (when it sent one).
    public func publicWidget(id: String, origin: String?) async throws -> Widget {
        let widget = try await get(id: id)
        if let origin, !widget.allows(origin: origin) {
            throw ControlError.forbidden("origin \(origin) is not allowed for this widget")
        }
        return widget
    }

    /// Issues a session token for `widgetId`. `contextJSON` is the caller context as compact
    /// JSON text of an object.
    public func createSession(widgetId: String, contextJSON: String, requester: SessionRequester) async throws -> IssuedWidgetSession {
        let widget = try await get(id: widgetId)
        let verified: Bool
        var origin: String? = nil
        var clientAddress: String? = nil
        switch requester {
        case .backend:
            verified = true
        case .page(let pageOrigin, let address):
            guard let pageOrigin else {
                throw ControlError.unauthorized("an API key, or a request from one of the widget's allowed origins, is required")
            }
            guard widget.allows(origin: pageOrigin) else {
                throw ControlError.forbidden("origin \(pageOrigin) is not allowed for this widget")
            }
            if let retryAfter = pageRateLimiter.take(address, now: clock.now()) {
                throw ControlError.rateLimited(retryAfter: retryAfter)
            }
            verified = false
            origin = pageOrigin
            clientAddress = address
        }
        guard widget.enabled else { throw ControlError.conflict("widget \(widgetId) is disabled") }
        guard contextJSON.utf8.count <= WidgetSession.maxContextBytes else {
            throw ControlError.tooLarge("context is \(contextJSON.utf8.count) bytes; at most \(WidgetSession.maxContextBytes) are allowed")
        }

        let now = clock.now()
        let token = Secret.generate(prefix: WidgetSession.tokenPrefix)
        let session = WidgetSession(
            id: Identifier.make(WidgetSession.idPrefix, millis: clock.millis),
            widgetId: widget.id,
            tokenDigest: token.digest,
            contextJSON: contextJSON,
            verified: verified,
            origin: origin,
            clientAddress: clientAddress,
            createdAt: now,
            expiresAt: now.addingTimeInterval(sessionLifetime)
        )
        try await storage.insert(session: session)
        return IssuedWidgetSession(session: session, token: token)
    }

    /// The live session a token stands for, or `nil` when unknown or expired.
    public func session(token: String) async throws -> WidgetSession? {
        guard let session = try await storage.session(tokenDigest: Secret(text: token).digest),
            session.expiresAt > clock.now()
        else { return nil }
        return session
    }

    // MARK: Validation

    static func validate(name: String, into errors: inout [FieldError]) {
        if name.trimmingCharacters(in: .whitespaces).isEmpty || name.count > 200 {
            errors.append(FieldError(pointer: "/name", detail: "must be 1 to 200 characters"))
        }
    }

    static func validate(label: String, into errors: inout [FieldError]) {
        if label.trimmingCharacters(in: .whitespaces).isEmpty || label.count > 80 {
            errors.append(FieldError(pointer: "/label", detail: "must be 1 to 80 characters"))
        }
    }

    static func validate(origins: [String], into errors: inout [FieldError]) {
        if origins.count > 50 {
            errors.append(FieldError(pointer: "/allowedOrigins", detail: "at most 50 origins"))
        }
        for (index, origin) in origins.enumerated() {
            if let problem = Origin.problem(origin) {
                errors.append(FieldError(pointer: "/allowedOrigins/\(index)", detail: "\(origin) \(problem)"))
            }
        }
    }

    static func validate(destination: String, into errors: inout [FieldError]) {
        if let problem = Destination.problem(destination) {
            errors.append(FieldError(pointer: "/destination", detail: problem))
        }
    }
}
