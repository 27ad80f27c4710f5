public import Control
import Foundation
import OpenAPIRuntime

extension APIHandlers {
    // MARK: Events

    func listEvents(_ input: Operations.ListEvents.Input) async throws -> Operations.ListEvents.Output {
        _ = try RequestInfo.current.requirePrincipal()
        try await calls.log.flush()
        let page = try await events.list(
            filter: EventFilter(type: input.query._type, subjectId: input.query.callId), limit: input.query.limit, after: input.query.after
        )
        return .ok(.init(body: .json(ListPage(data: try page.items.map(Components.Schemas.Event.init), nextCursor: page.nextCursor))))
    }

    func getEvent(_ input: Operations.GetEvent.Input) async throws -> Operations.GetEvent.Output {
        _ = try RequestInfo.current.requirePrincipal()
        return .ok(.init(body: .json(try .init(try await events.get(id: input.path.eventId)))))
    }

    // MARK: Webhooks

    func listWebhooks(_ input: Operations.ListWebhooks.Input) async throws -> Operations.ListWebhooks.Output {
        _ = try RequestInfo.current.requirePrincipal()
        let page = try await webhooks.list(limit: input.query.limit, after: input.query.after)
        return .ok(.init(body: .json(ListPage(data: page.items.map(Components.Schemas.Webhook.init), nextCursor: page.nextCursor))))
    }

    func createWebhook(_ input: Operations.CreateWebhook.Input) async throws -> Operations.CreateWebhook.Output {
        _ = try RequestInfo.current.requirePrincipal()
        guard case .json(let body) = input.body else { throw ControlError.badRequest("send the subscription as application/json") }
        let issued = try await webhooks.create(
            WebhookFields(
                url: body.url, events: body.events, format: body.format.flatMap { Webhook.Format(rawValue: $0.rawValue) },
                xmlrpcMethod: body.xmlrpcMethod, description: body.description, enabled: body.enabled
            )
        )
        return .created(.init(
            headers: .init(location: "/v1/webhooks/\(issued.webhook.id)"),
            body: .json(.init(value1: .init(issued.webhook), value2: .init(secret: issued.secret.text)))
        ))
    }

    func getWebhook(_ input: Operations.GetWebhook.Input) async throws -> Operations.GetWebhook.Output {
        _ = try RequestInfo.current.requirePrincipal()
        return .ok(.init(body: .json(.init(try await webhooks.get(id: input.path.webhookId)))))
    }

    func updateWebhook(_ input: Operations.UpdateWebhook.Input) async throws -> Operations.UpdateWebhook.Output {
        _ = try RequestInfo.current.requirePrincipal()
        guard case .json(let body) = input.body else { throw ControlError.badRequest("send the changes as application/json") }
        let webhook = try await webhooks.update(
            id: input.path.webhookId,
            WebhookFields(
                url: body.url, events: body.events, format: body.format.flatMap { Webhook.Format(rawValue: $0.rawValue) },
                xmlrpcMethod: body.xmlrpcMethod, description: body.description, enabled: body.enabled
            )
        )
        return .ok(.init(body: .json(.init(webhook))))
    }

    func deleteWebhook(_ input: Operations.DeleteWebhook.Input) async throws -> Operations.DeleteWebhook.Output {
        _ = try RequestInfo.current.requirePrincipal()
        try await webhooks.delete(id: input.path.webhookId)
        return .noContent(.init())
    }

    func listWebhookDeliveries(_ input: Operations.ListWebhookDeliveries.Input) async throws -> Operations.ListWebhookDeliveries.Output {
        _ = try RequestInfo.current.requirePrincipal()
        let page = try await webhooks.deliveries(
            webhookId: input.path.webhookId, status: input.query.status.flatMap { WebhookDelivery.Status(rawValue: $0.rawValue) },
            limit: input.query.limit, after: input.query.after
        )
        return .ok(.init(body: .json(ListPage(data: page.items.map(Components.Schemas.WebhookDelivery.init), nextCursor: page.nextCursor))))
    }

    func getWebhookDelivery(_ input: Operations.GetWebhookDelivery.Input) async throws -> Operations.GetWebhookDelivery.Output {
        _ = try RequestInfo.current.requirePrincipal()
        return .ok(.init(body: .json(.init(try await webhooks.delivery(webhookId: input.path.webhookId, id: input.path.deliveryId)))))
    }

    func redeliverWebhookDelivery(_ input: Operations.RedeliverWebhookDelivery.Input) async throws -> Operations.RedeliverWebhookDelivery.Output {
        _ = try RequestInfo.current.requirePrincipal()
        let delivery = try await webhooks.redeliver(webhookId: input.path.webhookId, id: input.path.deliveryId)
        onRedeliver()
        return .accepted(.init(body: .json(.init(delivery))))
    }
}

extension Components.Schemas.Event {
    init(_ event: Event) throws {
        let data = try JSONDecoder().decode(OpenAPIObjectContainer.self, from: Data(event.dataJSON.utf8))
        self.init(
            id: event.id, _type: Components.Schemas.EventType(rawValue: event.type) ?? .call_failed, createdAt: event.createdAt,
            sequence: event.sequence, data: .init(additionalProperties: data)
        )
    }
}

extension Components.Schemas.Webhook {
    init(_ webhook: Webhook) {
        self.init(
            id: webhook.id, url: webhook.url, events: webhook.events, format: .init(rawValue: webhook.format.rawValue) ?? .json,
            xmlrpcMethod: webhook.xmlrpcMethod, description: webhook.description, enabled: webhook.enabled,
            disabledReason: webhook.disabledReason, createdAt: webhook.createdAt, updatedAt: webhook.updatedAt
        )
    }
}

extension Components.Schemas.WebhookDelivery {
    init(_ delivery: WebhookDelivery) {
        self.init(
            id: delivery.id, webhookId: delivery.webhookId, eventId: delivery.eventId, eventType: delivery.eventType,
            callId: delivery.subjectId, status: .init(rawValue: delivery.status.rawValue) ?? .failed, attemptCount: delivery.attemptCount,
            attempts: delivery.attempts.map {
                .init(number: $0.number, at: $0.at, statusCode: $0.statusCode, error: $0.error, durationMilliseconds: $0.durationMilliseconds)
            },
            nextAttemptAt: delivery.status == .pending ? delivery.nextAttemptAt : nil, createdAt: delivery.createdAt,
            completedAt: delivery.completedAt
        )
    }
}

/// The call as `GET /v1/calls/{id}` shows it, as compact JSON: the `call` of event payloads.
public func restCallJSON(_ call: Call) -> String {
    var out = "{\"id\":" + JSONLiteral.quote(call.id)
    out.reserveCapacity(512)
    out += ",\"status\":" + JSONLiteral.quote(call.status.rawValue)
    out += ",\"source\":{\"type\":" + JSONLiteral.quote(call.source.kind.rawValue)
    if let widgetId = call.source.widgetId { out += ",\"widgetId\":" + JSONLiteral.quote(widgetId) }
    if let sessionId = call.source.sessionId { out += ",\"sessionId\":" + JSONLiteral.quote(sessionId) }
    if let trunkId = call.source.trunkId { out += ",\"trunkId\":" + JSONLiteral.quote(trunkId) }
    out += "},\"from\":" + JSONLiteral.quote(call.from)
    out += ",\"to\":" + JSONLiteral.quote(call.to)
    out += ",\"destination\":" + JSONLiteral.quote(call.destination)
    if let sipCode = call.sipCode { out += ",\"sipCode\":\(sipCode)" }
    if let cause = call.hangupCause { out += ",\"hangupCause\":" + JSONLiteral.quote(cause) }
    if let by = call.hangupBy { out += ",\"hangupBy\":" + JSONLiteral.quote(by.rawValue) }
    // The context is stored as the compact JSON of an object, checked when the session was made.
    if let context = call.contextJSON { out += ",\"context\":" + context }
    if let verified = call.contextVerified { out += ",\"contextVerified\":" + (verified ? "true" : "false") }
    if let userAgent = call.userAgent { out += ",\"userAgent\":" + JSONLiteral.quote(userAgent) }
    out += ",\"createdAt\":" + JSONLiteral.quote(Timestamp.iso8601(call.createdAt))
    if let answeredAt = call.answeredAt { out += ",\"answeredAt\":" + JSONLiteral.quote(Timestamp.iso8601(answeredAt)) }
    if let endedAt = call.endedAt { out += ",\"endedAt\":" + JSONLiteral.quote(Timestamp.iso8601(endedAt)) }
    if let duration = call.durationSeconds { out += ",\"durationSeconds\":\(duration)" }
    if let media = call.media {
        guard let data = try? restJSONEncoder.encode(Components.Schemas.CallMedia(media)) else { return restCallJSONEncoded(call) }
        out += ",\"media\":" + String(decoding: data, as: UTF8.self)
    }
    return out + "}"
}

/// The same through the generated `Call` schema and `JSONEncoder` (about ten times the cost of
/// ``restCallJSON(_:)``, which renders several per call at high call rates; tests hold the two equal).
func restCallJSONEncoded(_ call: Call) -> String {
    (try? String(decoding: restJSONEncoder.encode(Components.Schemas.Call(call)), as: UTF8.self)) ?? CallLog.minimalJSON(call)
}

private let restJSONEncoder: JSONEncoder = {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
    encoder.dateEncodingStrategy = .iso8601
    return encoder
}()
