import Control
import Foundation
import HTTPTypes
import OpenAPIRuntime

/// The REST operations of `OpenAPI/openapi.yaml`, each a thin translation to the domain
/// services. Problems are thrown (``ControlError``) and rendered by ``ProblemMiddleware``.
struct APIHandlers: APIProtocol {
    let widgets: WidgetService
    let apiKeys: APIKeyService
    let trunks: TrunkService
    let calls: CallService
    let events: EventService
    let webhooks: WebhookService
    /// A delivery was made pending again: the dispatcher should look now.
    let onRedeliver: @Sendable () -> Void
    /// STUN/TURN servers for each widget session (TURN REST credentials are made per session).
    let iceServers: ICEServerList
    let version: String

    // MARK: Health

    func getHealth(_ input: Operations.GetHealth.Input) async throws -> Operations.GetHealth.Output {
        do {
            try await widgets.storage.ping()
        } catch {
            throw ControlError.unavailable("the store does not answer")
        }
        return .ok(.init(body: .json(.init(status: .ok, version: version))))
    }

    // MARK: Widgets

    func listWidgets(_ input: Operations.ListWidgets.Input) async throws -> Operations.ListWidgets.Output {
        _ = try RequestInfo.current.requirePrincipal()
        let page = try await widgets.list(limit: input.query.limit, after: input.query.after)
        return .ok(.init(body: .json(ListPage(data: page.items.map(Components.Schemas.Widget.init), nextCursor: page.nextCursor))))
    }

    func createWidget(_ input: Operations.CreateWidget.Input) async throws -> Operations.CreateWidget.Output {
        _ = try RequestInfo.current.requirePrincipal()
        guard case .json(let body) = input.body else { throw ControlError.badRequest("send the widget as application/json") }
        let widget = try await widgets.create(
            WidgetDraft(
                name: body.name, label: body.label, appearance: body.appearance.map(Appearance.init),
                destination: body.destination, allowedOrigins: body.allowedOrigins, video: body.video,
                recording: body.recording.map(RecordingChanges.init), enabled: body.enabled,
                routingWebhook: body.routingWebhook.map(RoutingWebhook.init)
            )
        )
        return .created(.init(headers: .init(location: "/v1/widgets/\(widget.id)"), body: .json(.init(widget))))
    }

    func getWidget(_ input: Operations.GetWidget.Input) async throws -> Operations.GetWidget.Output {
        _ = try RequestInfo.current.requirePrincipal()
        return .ok(.init(body: .json(.init(try await widgets.get(id: input.path.widgetId)))))
    }

    func updateWidget(_ input: Operations.UpdateWidget.Input) async throws -> Operations.UpdateWidget.Output {
        _ = try RequestInfo.current.requirePrincipal()
        guard case .json(let body) = input.body else { throw ControlError.badRequest("send the changes as application/json") }
        // `label: null` resets the label; the decoded body cannot tell null from absent.
        let label: String?? = body.label.map { .some($0) } ?? (RequestInfo.current.bodyHasNull(at: "label") ? .some(nil) : nil)
        let routing: RoutingWebhook?? =
            body.routingWebhook.map {
                .some(RoutingWebhook(
                    url: $0.url, timeoutMilliseconds: $0.timeoutMilliseconds ?? RoutingWebhook.defaultTimeoutMilliseconds,
                    allowedDestinations: $0.allowedDestinations
                ))
            } ?? (RequestInfo.current.bodyHasNull(at: "routingWebhook") ? .some(nil) : nil)
        let widget = try await widgets.update(
            id: input.path.widgetId,
            WidgetChanges(
                name: body.name, label: label, appearance: body.appearance.map(Appearance.init),
                destination: body.destination, allowedOrigins: body.allowedOrigins, video: body.video,
                recording: body.recording.map(RecordingChanges.init), enabled: body.enabled, routingWebhook: routing
            )
        )
        return .ok(.init(body: .json(.init(widget))))
    }

    func deleteWidget(_ input: Operations.DeleteWidget.Input) async throws -> Operations.DeleteWidget.Output {
        _ = try RequestInfo.current.requirePrincipal()
        try await widgets.delete(id: input.path.widgetId)
        return .noContent(.init())
    }

    func getPublicWidget(_ input: Operations.GetPublicWidget.Input) async throws -> Operations.GetPublicWidget.Output {
        let widget = try await widgets.publicWidget(id: input.path.widgetId, origin: RequestInfo.current.origin)
        return .ok(.init(body: .json(.init(
            id: widget.id, label: widget.effectiveLabel, appearance: .init(widget.appearance), video: widget.video, enabled: widget.enabled
        ))))
    }

    // MARK: Widget sessions

    func createWidgetSession(_ input: Operations.CreateWidgetSession.Input) async throws -> Operations.CreateWidgetSession.Output {
        let info = RequestInfo.current
        var contextJSON = "{}"
        if case .json(let body) = input.body, let context = body.context {
            let data = try JSONEncoder.compact.encode(context.additionalProperties)
            contextJSON = String(decoding: data, as: UTF8.self)
        } else if let raw = info.body, raw.readableBytes > 0, !info.bodyIsObjectWithObjectContext {
            throw ControlError.badRequest("context must be a JSON object")
        }
        let requester: SessionRequester = info.principal.map { .backend($0) } ?? .page(origin: info.origin, clientAddress: info.clientAddress)
        let issued = try await widgets.createSession(widgetId: input.path.widgetId, contextJSON: contextJSON, requester: requester)
        let base = info.baseURL
        let websocketBase = base.hasPrefix("https://") ? "wss://" + base.dropFirst(8) : "ws://" + base.dropFirst(7)
        let host = base.split(separator: "/").dropFirst().first.map { String($0.split(separator: ":").first ?? $0) } ?? "localhost"
        return .created(.init(body: .json(.init(
            id: issued.session.id,
            token: issued.token.text,
            expiresAt: issued.session.expiresAt,
            websocketUrl: "\(websocketBase)/sip?token=\(issued.token.text)",
            sipUri: "sip:\(issued.session.widgetId)@\(host)",
            iceServers: iceServers.forSession(id: issued.session.id, expiresAt: issued.session.expiresAt).map {
                Components.Schemas.IceServer(urls: $0.urls, username: $0.username, credential: $0.credential)
            },
            verified: issued.session.verified
        ))))
    }

    // MARK: API keys

    func listApiKeys(_ input: Operations.ListApiKeys.Input) async throws -> Operations.ListApiKeys.Output {
        _ = try RequestInfo.current.requirePrincipal()
        let page = try await apiKeys.list(limit: input.query.limit, after: input.query.after)
        return .ok(.init(body: .json(ListPage(data: page.items.map(Components.Schemas.ApiKey.init), nextCursor: page.nextCursor))))
    }

    func createApiKey(_ input: Operations.CreateApiKey.Input) async throws -> Operations.CreateApiKey.Output {
        _ = try RequestInfo.current.requirePrincipal()
        guard case .json(let body) = input.body else { throw ControlError.badRequest("send the key as application/json") }
        let issued = try await apiKeys.create(name: body.name)
        let key = issued.key
        return .created(.init(body: .json(.init(
            id: key.id, name: key.name, prefix: key.prefix, createdAt: key.createdAt,
            lastUsedAt: key.lastUsedAt, revokedAt: key.revokedAt, secret: issued.secret.text
        ))))
    }

    func getApiKey(_ input: Operations.GetApiKey.Input) async throws -> Operations.GetApiKey.Output {
        _ = try RequestInfo.current.requirePrincipal()
        return .ok(.init(body: .json(.init(try await apiKeys.get(id: input.path.apiKeyId)))))
    }

    func revokeApiKey(_ input: Operations.RevokeApiKey.Input) async throws -> Operations.RevokeApiKey.Output {
        let caller = try RequestInfo.current.requirePrincipal()
        try await apiKeys.revoke(id: input.path.apiKeyId, by: caller)
        return .noContent(.init())
    }
}

extension RequestInfo {
    /// Whether the JSON body is an object whose `key` is present and null.
    func bodyHasNull(at key: String) -> Bool {
        guard let body, let object = try? JSONSerialization.jsonObject(with: Data(buffer: body)) as? [String: Any] else { return false }
        return object.keys.contains(key) && object[key] is NSNull
    }

    /// Whether the JSON body is an object and any `context` in it is an object.
    var bodyIsObjectWithObjectContext: Bool {
        guard let body, let object = try? JSONSerialization.jsonObject(with: Data(buffer: body)) as? [String: Any] else { return false }
        return object["context"] == nil || object["context"] is [String: Any]
    }
}

extension JSONEncoder {
    static let compact: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }()
}
