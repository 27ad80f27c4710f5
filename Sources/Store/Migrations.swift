import GRDB

extension SQLiteStorage {
    /// The schema's history. A shipped migration never changes: add a new one instead.
    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1: widgets, widget sessions, api keys, idempotency") { db in
            try db.create(table: "widget") { t in
                t.primaryKey("id", .text)
                t.column("name", .text).notNull()
                t.column("label", .text)
                t.column("appearance", .jsonText).notNull()
                t.column("destination", .text).notNull()
                t.column("allowedOrigins", .jsonText).notNull()
                t.column("video", .boolean).notNull()
                t.column("recording", .jsonText).notNull()
                t.column("enabled", .boolean).notNull()
                t.column("createdAt", .datetime).notNull()
                t.column("updatedAt", .datetime).notNull()
            }
            try db.create(table: "widgetSession") { t in
                t.primaryKey("id", .text)
                t.column("widgetId", .text).notNull().references("widget", onDelete: .cascade).indexed()
                t.column("tokenDigest", .text).notNull().unique()
                t.column("context", .jsonText).notNull()
                t.column("verified", .boolean).notNull()
                t.column("origin", .text)
                t.column("clientAddress", .text)
                t.column("createdAt", .datetime).notNull()
                t.column("expiresAt", .datetime).notNull().indexed()
            }
            try db.create(table: "apiKey") { t in
                t.primaryKey("id", .text)
                t.column("name", .text).notNull()
                t.column("prefix", .text).notNull()
                t.column("secretDigest", .text).notNull().unique()
                t.column("createdAt", .datetime).notNull()
                t.column("lastUsedAt", .datetime)
                t.column("revokedAt", .datetime)
            }
            try db.create(table: "idempotencyKey") { t in
                t.column("scope", .text).notNull()
                t.column("key", .text).notNull()
                t.primaryKey(["scope", "key"])
                t.column("fingerprint", .text).notNull()
                t.column("status", .integer)
                t.column("contentType", .text)
                t.column("location", .text)
                t.column("body", .blob)
                t.column("createdAt", .datetime).notNull().indexed()
            }
        }
        migrator.registerMigration("v2: trunks and calls") { db in
            try db.create(table: "trunk") { t in
                t.primaryKey("id", .text)
                t.column("name", .text).notNull()
                t.column("uri", .text).notNull()
                t.column("transport", .text).notNull()
                t.column("username", .text)
                t.column("sealedPassword", .text)
                t.column("codecs", .jsonText).notNull()
                t.column("maxConcurrentCalls", .integer)
                t.column("inbound", .jsonText)
                t.column("createdAt", .datetime).notNull()
                t.column("updatedAt", .datetime).notNull()
            }
            try db.create(table: "call") { t in
                t.primaryKey("id", .text)
                t.column("status", .text).notNull().indexed()
                t.column("sourceKind", .text).notNull()
                t.column("widgetId", .text).indexed()
                t.column("sessionId", .text)
                t.column("trunkId", .text).indexed()
                t.column("fromURI", .text).notNull()
                t.column("toURI", .text).notNull()
                t.column("destination", .text).notNull()
                t.column("sipCode", .integer)
                t.column("hangupCause", .text)
                t.column("hangupBy", .text)
                t.column("context", .jsonText)
                t.column("contextVerified", .boolean)
                t.column("createdAt", .datetime).notNull()
                t.column("answeredAt", .datetime)
                t.column("endedAt", .datetime)
            }
        }
        migrator.registerMigration("v3: trunk TLS settings") { db in
            try db.alter(table: "trunk") { t in
                t.add(column: "tls", .jsonText)
            }
        }
        migrator.registerMigration("v4: call media statistics") { db in
            try db.alter(table: "call") { t in
                t.add(column: "media", .jsonText)
            }
        }
        migrator.registerMigration("v5: events outbox, webhooks, deliveries") { db in
            try db.alter(table: "call") { t in
                t.add(column: "userAgent", .text)
            }
            try db.create(table: "event") { t in
                t.primaryKey("id", .text)
                t.column("type", .text).notNull()
                t.column("createdAt", .datetime).notNull()
                t.column("sequence", .integer).notNull()
                t.column("subjectId", .text).indexed()
                t.column("data", .jsonText).notNull()
            }
            try db.create(table: "webhook") { t in
                t.primaryKey("id", .text)
                t.column("url", .text).notNull()
                t.column("events", .jsonText).notNull()
                t.column("format", .text).notNull()
                t.column("xmlrpcMethod", .text).notNull()
                t.column("description", .text)
                t.column("sealedSecret", .text).notNull()
                t.column("enabled", .boolean).notNull()
                t.column("disabledReason", .text)
                t.column("createdAt", .datetime).notNull()
                t.column("updatedAt", .datetime).notNull()
            }
            try db.create(table: "delivery") { t in
                t.primaryKey("id", .text)
                t.column("webhookId", .text).notNull().references("webhook", onDelete: .cascade)
                t.column("eventId", .text).notNull().references("event", onDelete: .cascade)
                t.column("eventType", .text).notNull()
                // The subject (call id), or the event id for events without one: the ordering key.
                t.column("orderKey", .text).notNull()
                t.column("status", .text).notNull()
                t.column("attempts", .jsonText).notNull()
                t.column("nextAttemptAt", .datetime)
                t.column("createdAt", .datetime).notNull()
                t.column("completedAt", .datetime)
            }
            try db.create(index: "delivery_due", on: "delivery", columns: ["status", "nextAttemptAt"])
            try db.create(index: "delivery_order", on: "delivery", columns: ["webhookId", "orderKey", "status", "eventId"])
            try db.create(index: "delivery_webhook", on: "delivery", columns: ["webhookId", "id"])
        }
        migrator.registerMigration("v6: routing webhooks") { db in
            try db.alter(table: "widget") { t in
                t.add(column: "routingWebhook", .jsonText)
            }
        }
        migrator.registerMigration("v7: trunk SRTP") { db in
            try db.alter(table: "trunk") { t in
                t.add(column: "srtp", .text).notNull().defaults(to: "off")
            }
        }
        return migrator
    }
}
