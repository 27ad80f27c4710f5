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
            enabled: enabled, createdAt: createdAt, updatedAt: updatedAt
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
