import Control
import Foundation
import GRDB

/// Database rows: the domain types as columns. JSON columns hold the nested values.
struct WidgetRow: Codable, FetchableRecord, PersistableRecord {
    static let databaseTableName = "widget"

    var id: String
    var name: String
    var label: String?
    var appearance: String
    var destination: String
    var allowedOrigins: String
    var video: Bool
    var recording: String
    var enabled: Bool
    var routingWebhook: String?
    var createdAt: Date
    var updatedAt: Date

    init(_ widget: Widget) throws {
        id = widget.id
        name = widget.name
        label = widget.label
        appearance = try JSONText.encode(widget.appearance)
        destination = widget.destination
        allowedOrigins = try JSONText.encode(widget.allowedOrigins)
        video = widget.video
        recording = try JSONText.encode(widget.recording)
        enabled = widget.enabled
        routingWebhook = try widget.routingWebhook.map(JSONText.encode)
        createdAt = widget.createdAt
        updatedAt = widget.updatedAt
    }

    func widget() throws -> Widget {
        Widget(
            id: id, name: name, label: label,
            appearance: try JSONText.decode(Appearance.self, appearance),
            destination: destination,
            allowedOrigins: try JSONText.decode([String].self, allowedOrigins),
            video: video,
            recording: try JSONText.decode(RecordingPolicy.self, recording),
            enabled: enabled, routingWebhook: try routingWebhook.map { try JSONText.decode(RoutingWebhook.self, $0) },
            createdAt: createdAt, updatedAt: updatedAt
        )
    }
}

struct WidgetSessionRow: Codable, FetchableRecord, PersistableRecord {
    static let databaseTableName = "widgetSession"

    var id: String
    var widgetId: String
    var tokenDigest: String
    var context: String
    var verified: Bool
    var origin: String?
    var clientAddress: String?
    var createdAt: Date
    var expiresAt: Date

    init(_ session: WidgetSession) {
        id = session.id
        widgetId = session.widgetId
        tokenDigest = session.tokenDigest
        context = session.contextJSON
        verified = session.verified
        origin = session.origin
        clientAddress = session.clientAddress
        createdAt = session.createdAt
        expiresAt = session.expiresAt
    }

    var session: WidgetSession {
        WidgetSession(
            id: id, widgetId: widgetId, tokenDigest: tokenDigest, contextJSON: context, verified: verified,
            origin: origin, clientAddress: clientAddress, createdAt: createdAt, expiresAt: expiresAt
        )
    }
}

struct APIKeyRow: Codable, FetchableRecord, PersistableRecord {
    static let databaseTableName = "apiKey"

    var id: String
    var name: String
    var prefix: String
    var secretDigest: String
    var createdAt: Date
    var lastUsedAt: Date?
    var revokedAt: Date?

    init(_ key: APIKey) {
        id = key.id
        name = key.name
        prefix = key.prefix
        secretDigest = key.secretDigest
        createdAt = key.createdAt
        lastUsedAt = key.lastUsedAt
        revokedAt = key.revokedAt
    }

    var key: APIKey {
        APIKey(id: id, name: name, prefix: prefix, secretDigest: secretDigest, createdAt: createdAt, lastUsedAt: lastUsedAt, revokedAt: revokedAt)
    }
}

struct IdempotencyRow: Codable, FetchableRecord, PersistableRecord {
    static let databaseTableName = "idempotencyKey"

    var scope: String
    var key: String
    var fingerprint: String
    var status: Int?
    var contentType: String?
    var location: String?
    var body: Data?
    var createdAt: Date

    init(scope: String, key: String, fingerprint: String, createdAt: Date) {
        self.scope = scope
        self.key = key
        self.fingerprint = fingerprint
        self.createdAt = createdAt
    }

    var response: IdempotentResponse {
        IdempotentResponse(
            fingerprint: fingerprint,
            stored: status.map { IdempotentResponse.Stored(status: $0, contentType: contentType, location: location, body: [UInt8](body ?? Data())) }
        )
    }
}

struct TrunkRow: Codable, FetchableRecord, PersistableRecord {
    static let databaseTableName = "trunk"

    var id: String
    var name: String
    var uri: String
    var transport: String
    var username: String?
    var sealedPassword: String?
    var codecs: String
    var maxConcurrentCalls: Int?
    var inbound: String?
    var tls: String?
    var srtp: String
    var createdAt: Date
    var updatedAt: Date

    init(_ trunk: Trunk) throws {
        id = trunk.id
        name = trunk.name
        uri = trunk.uri
        transport = trunk.transport.rawValue
        username = trunk.username
        sealedPassword = trunk.sealedPassword
        codecs = try JSONText.encode(trunk.codecs)
        maxConcurrentCalls = trunk.maxConcurrentCalls
        inbound = try trunk.inbound.map(JSONText.encode)
        tls = try trunk.tls.map(JSONText.encode)
        srtp = trunk.srtp.rawValue
        createdAt = trunk.createdAt
        updatedAt = trunk.updatedAt
    }

    func trunk() throws -> Trunk {
        Trunk(
            id: id, name: name, uri: uri, transport: Trunk.Transport(rawValue: transport) ?? .udp, username: username,
            sealedPassword: sealedPassword, codecs: try JSONText.decode([String].self, codecs), maxConcurrentCalls: maxConcurrentCalls,
            inbound: try inbound.map { try JSONText.decode(Trunk.Inbound.self, $0) }, tls: try tls.map { try JSONText.decode(Trunk.TLS.self, $0) },
            // A setting this version does not know fails closed: the leg is kept encrypted.
            srtp: Trunk.SRTP(rawValue: srtp) ?? .required, createdAt: createdAt, updatedAt: updatedAt
        )
    }
}

struct CallRow: Codable, FetchableRecord, PersistableRecord {
    static let databaseTableName = "call"

    var id: String
    var status: String
    var sourceKind: String
    var widgetId: String?
    var sessionId: String?
    var trunkId: String?
    var fromURI: String
    var toURI: String
    var destination: String
    var sipCode: Int?
    var hangupCause: String?
    var hangupBy: String?
    var context: String?
    var contextVerified: Bool?
    var userAgent: String?
    var createdAt: Date
    var answeredAt: Date?
    var endedAt: Date?
    var media: String?

    init(_ call: Call) {
        id = call.id
        status = call.status.rawValue
        sourceKind = call.source.kind.rawValue
        widgetId = call.source.widgetId
        sessionId = call.source.sessionId
        trunkId = call.source.trunkId
        fromURI = call.from
        toURI = call.to
        destination = call.destination
        sipCode = call.sipCode
        hangupCause = call.hangupCause
        hangupBy = call.hangupBy?.rawValue
        context = call.contextJSON
        contextVerified = call.contextVerified
        userAgent = call.userAgent
        createdAt = call.createdAt
        answeredAt = call.answeredAt
        endedAt = call.endedAt
        media = call.media.flatMap { try? JSONText.encode($0) }
    }

    var call: Call {
        Call(
            id: id, status: CallStatus(rawValue: status) ?? .failed,
            source: CallSource(kind: CallSource.Kind(rawValue: sourceKind) ?? .trunk, widgetId: widgetId, sessionId: sessionId, trunkId: trunkId),
            from: fromURI, to: toURI, destination: destination, sipCode: sipCode, hangupCause: hangupCause,
            hangupBy: hangupBy.flatMap(HangupParty.init(rawValue:)), contextJSON: context, contextVerified: contextVerified,
            userAgent: userAgent, createdAt: createdAt, answeredAt: answeredAt, endedAt: endedAt,
            media: media.flatMap { try? JSONText.decode(CallMedia.self, $0) }
        )
    }
}

enum JSONText {
    private static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return encoder
    }()

    static func encode(_ value: some Encodable) throws -> String {
        String(decoding: try encoder.encode(value), as: UTF8.self)
    }

    static func decode<T: Decodable>(_ type: T.Type, _ text: String) throws -> T {
        try JSONDecoder().decode(type, from: Data(text.utf8))
    }
}

struct EventRow: Codable, FetchableRecord, PersistableRecord {
    static let databaseTableName = "event"

    var id: String
    var type: String
    var createdAt: Date
    var sequence: Int
    var subjectId: String?
    var data: String

    init(_ event: Event) {
        id = event.id
        type = event.type
        createdAt = event.createdAt
        sequence = event.sequence
        subjectId = event.subjectId
        data = event.dataJSON
    }

    var event: Event {
        Event(id: id, type: type, createdAt: createdAt, sequence: sequence, subjectId: subjectId, dataJSON: data)
    }
}

struct WebhookRow: Codable, FetchableRecord, PersistableRecord {
    static let databaseTableName = "webhook"

    var id: String
    var url: String
    var events: String
    var format: String
    var xmlrpcMethod: String
    var description: String?
    var sealedSecret: String
    var enabled: Bool
    var disabledReason: String?
    var createdAt: Date
    var updatedAt: Date

    init(_ webhook: Webhook) throws {
        id = webhook.id
        url = webhook.url
        events = try JSONText.encode(webhook.events)
        format = webhook.format.rawValue
        xmlrpcMethod = webhook.xmlrpcMethod
        description = webhook.description
        sealedSecret = webhook.sealedSecret
        enabled = webhook.enabled
        disabledReason = webhook.disabledReason
        createdAt = webhook.createdAt
        updatedAt = webhook.updatedAt
    }

    func webhook() throws -> Webhook {
        Webhook(
            id: id, url: url, events: try JSONText.decode([String].self, events), format: Webhook.Format(rawValue: format) ?? .json,
            xmlrpcMethod: xmlrpcMethod, description: description, sealedSecret: sealedSecret, enabled: enabled,
            disabledReason: disabledReason, createdAt: createdAt, updatedAt: updatedAt
        )
    }
}

struct DeliveryRow: Codable, FetchableRecord, PersistableRecord {
    static let databaseTableName = "delivery"

    var id: String
    var webhookId: String
    var eventId: String
    var eventType: String
    var orderKey: String
    var status: String
    var attempts: String
    var nextAttemptAt: Date?
    var createdAt: Date
    var completedAt: Date?

    init(_ delivery: WebhookDelivery) throws {
        id = delivery.id
        webhookId = delivery.webhookId
        eventId = delivery.eventId
        eventType = delivery.eventType
        orderKey = delivery.subjectId ?? delivery.eventId
        status = delivery.status.rawValue
        attempts = delivery.attempts.isEmpty ? "[]" : try JSONText.encode(delivery.attempts)
        nextAttemptAt = delivery.nextAttemptAt
        createdAt = delivery.createdAt
        completedAt = delivery.completedAt
    }

    func delivery() throws -> WebhookDelivery {
        WebhookDelivery(
            id: id, webhookId: webhookId, eventId: eventId, eventType: eventType, subjectId: orderKey == eventId ? nil : orderKey,
            status: WebhookDelivery.Status(rawValue: status) ?? .failed, attempts: try JSONText.decode([DeliveryAttempt].self, attempts),
            nextAttemptAt: nextAttemptAt, createdAt: createdAt, completedAt: completedAt
        )
    }
}
