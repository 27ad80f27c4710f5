public import Control
public import Foundation
import GRDB
public import Logging

/// ``Storage`` on SQLite through GRDB: one database file in the data directory, WAL journal,
/// versioned migrations. Reads run concurrently; writes are serialised by SQLite.
public final class SQLiteStorage: Storage {
    let pool: DatabasePool

    /// Opens (creating if needed) `path` and migrates it to the current schema.
    public init(path: String, logger: Logger) throws {
        var configuration = Configuration()
        configuration.busyMode = .timeout(10)
        configuration.prepareDatabase { db in
            // WAL (set by DatabasePool) with synchronous=NORMAL: a committed transaction
            // survives a crash of the process; FULL would also cover power loss at the cost
            // of one fsync per commit.
            try db.execute(sql: "PRAGMA synchronous = NORMAL")
            try db.execute(sql: "PRAGMA foreign_keys = ON")
        }
        pool = try DatabasePool(path: path, configuration: configuration)
        try Self.migrator.migrate(pool)
        logger.info("store opened", metadata: ["path": "\(path)", "schema": "\(Self.migrator.migrations.last ?? "")"])
    }

    // MARK: Widgets

    public func insert(widget: Widget) async throws {
        try await pool.write { db in try WidgetRow(widget).insert(db) }
    }

    public func widget(id: String) async throws -> Widget? {
        try await pool.read { db in try WidgetRow.fetchOne(db, key: id)?.widget() }
    }

    public func widgets(after: String?, limit: Int) async throws -> [Widget] {
        try await pool.read { db in
            var request = WidgetRow.order(Column("id"))
            if let after { request = request.filter(Column("id") > after) }
            return try request.limit(limit).fetchAll(db).map { try $0.widget() }
        }
    }

    public func update(widget: Widget) async throws -> Bool {
        try await pool.write { db in
            guard try WidgetRow.exists(db, key: widget.id) else { return false }
            try WidgetRow(widget).update(db)
            return true
        }
    }

    public func deleteWidget(id: String) async throws -> Bool {
        try await pool.write { db in try WidgetRow.deleteOne(db, key: id) }
    }

    // MARK: Widget sessions

    public func insert(session: WidgetSession) async throws {
        try await pool.write { db in try WidgetSessionRow(session).insert(db) }
    }

    public func session(tokenDigest: String) async throws -> WidgetSession? {
        try await pool.read { db in
            try WidgetSessionRow.filter(Column("tokenDigest") == tokenDigest).fetchOne(db)?.session
        }
    }

    public func deleteSessions(expiredBefore date: Date) async throws -> Int {
        try await pool.write { db in try WidgetSessionRow.filter(Column("expiresAt") < date).deleteAll(db) }
    }

    // MARK: API keys

    public func insert(apiKey: APIKey) async throws {
        try await pool.write { db in try APIKeyRow(apiKey).insert(db) }
    }

    public func apiKey(id: String) async throws -> APIKey? {
        try await pool.read { db in try APIKeyRow.fetchOne(db, key: id)?.key }
    }

    public func apiKey(secretDigest: String) async throws -> APIKey? {
        try await pool.read { db in try APIKeyRow.filter(Column("secretDigest") == secretDigest).fetchOne(db)?.key }
    }

    public func apiKeys(after: String?, limit: Int) async throws -> [APIKey] {
        try await pool.read { db in
            var request = APIKeyRow.order(Column("id"))
            if let after { request = request.filter(Column("id") > after) }
            return try request.limit(limit).fetchAll(db).map(\.key)
        }
    }

    public func countAPIKeys() async throws -> Int {
        try await pool.read { db in try APIKeyRow.fetchCount(db) }
    }

    public func revokeAPIKey(id: String, at date: Date) async throws -> Bool {
        try await pool.write { db in
            try APIKeyRow.filter(key: id).filter(Column("revokedAt") == nil)
                .updateAll(db, Column("revokedAt").set(to: date)) > 0
        }
    }

    public func touchAPIKey(id: String, at date: Date) async throws {
        try await pool.write { db in
            _ = try APIKeyRow.filter(key: id).updateAll(db, Column("lastUsedAt").set(to: date))
        }
    }

    // MARK: Trunks

    public func insert(trunk: Trunk) async throws {
        try await pool.write { db in try TrunkRow(trunk).insert(db) }
    }

    public func trunk(id: String) async throws -> Trunk? {
        try await pool.read { db in try TrunkRow.fetchOne(db, key: id)?.trunk() }
    }

    public func trunks(after: String?, limit: Int) async throws -> [Trunk] {
        try await pool.read { db in
            var request = TrunkRow.order(Column("id"))
            if let after { request = request.filter(Column("id") > after) }
            return try request.limit(limit).fetchAll(db).map { try $0.trunk() }
        }
    }

    public func update(trunk: Trunk) async throws -> Bool {
        try await pool.write { db in
            guard try TrunkRow.exists(db, key: trunk.id) else { return false }
            try TrunkRow(trunk).update(db)
            return true
        }
    }

    public func deleteTrunk(id: String) async throws -> Bool {
        try await pool.write { db in try TrunkRow.deleteOne(db, key: id) }
    }

    // MARK: Calls

    public func upsert(calls: [Call], events: [Event]) async throws {
        try await pool.write { db in
            let upsertCall = try db.cachedStatement(sql: CallRow.upsertSQL)
            for call in calls { try upsertCall.execute(arguments: CallRow(call).upsertArguments) }
            guard !events.isEmpty else { return }
            let webhooks = try WebhookRow.filter(Column("enabled") == true).fetchAll(db).map { try $0.webhook() }
            let insertEvent = try db.cachedStatement(sql: EventRow.insertSQL)
            let insertDelivery = try db.cachedStatement(sql: DeliveryRow.insertSQL)
            for event in events {
                try insertEvent.execute(arguments: EventRow(event).insertArguments)
                for webhook in webhooks where webhook.wants(event.type) {
                    let delivery = WebhookDelivery(
                        id: Identifier.make(WebhookDelivery.idPrefix, millis: UInt64(max(0, event.createdAt.timeIntervalSince1970 * 1000))),
                        webhookId: webhook.id, eventId: event.id, eventType: event.type, subjectId: event.subjectId,
                        status: .pending, attempts: [], nextAttemptAt: event.createdAt, createdAt: event.createdAt, completedAt: nil
                    )
                    try insertDelivery.execute(arguments: DeliveryRow(delivery).insertArguments)
                }
            }
        }
    }

    public func call(id: String) async throws -> Call? {
        try await pool.read { db in try CallRow.fetchOne(db, key: id)?.call }
    }

    public func calls(filter: CallFilter, after: String?, limit: Int) async throws -> [Call] {
        try await pool.read { db in
            var request = CallRow.order(Column("id"))
            if let after { request = request.filter(Column("id") > after) }
            if let status = filter.status { request = request.filter(Column("status") == status.rawValue) }
            if let widgetId = filter.widgetId { request = request.filter(Column("widgetId") == widgetId) }
            if let trunkId = filter.trunkId { request = request.filter(Column("trunkId") == trunkId) }
            return try request.limit(limit).fetchAll(db).map(\.call)
        }
    }

    // MARK: Events

    public func events(filter: EventFilter, after: String?, limit: Int) async throws -> [Event] {
        try await pool.read { db in
            var request = EventRow.order(Column("id"))
            if let after { request = request.filter(Column("id") > after) }
            if let type = filter.type {
                if type == "*" {
                } else if type.hasSuffix(".*") {
                    request = request.filter(Column("type").like(String(type.dropLast()) + "%"))
                } else {
                    request = request.filter(Column("type") == type)
                }
            }
            if let subject = filter.subjectId { request = request.filter(Column("subjectId") == subject) }
            return try request.limit(limit).fetchAll(db).map(\.event)
        }
    }

    public func event(id: String) async throws -> Event? {
        try await pool.read { db in try EventRow.fetchOne(db, key: id)?.event }
    }

    // MARK: Webhooks

    public func insert(webhook: Webhook) async throws {
        try await pool.write { db in try WebhookRow(webhook).insert(db) }
    }

    public func webhook(id: String) async throws -> Webhook? {
        try await pool.read { db in try WebhookRow.fetchOne(db, key: id)?.webhook() }
    }

    public func webhooks(after: String?, limit: Int) async throws -> [Webhook] {
        try await pool.read { db in
            var request = WebhookRow.order(Column("id"))
            if let after { request = request.filter(Column("id") > after) }
            return try request.limit(limit).fetchAll(db).map { try $0.webhook() }
        }
    }

    public func update(webhook: Webhook) async throws -> Bool {
        try await pool.write { db in
            guard try WebhookRow.exists(db, key: webhook.id) else { return false }
            try WebhookRow(webhook).update(db)
            return true
        }
    }

    public func deleteWebhook(id: String) async throws -> Bool {
        try await pool.write { db in try WebhookRow.deleteOne(db, key: id) }
    }

    // MARK: Deliveries

    public func deliveries(webhookId: String, status: WebhookDelivery.Status?, after: String?, limit: Int) async throws -> [WebhookDelivery] {
        try await pool.read { db in
            var request = DeliveryRow.filter(Column("webhookId") == webhookId).order(Column("id"))
            if let after { request = request.filter(Column("id") > after) }
            if let status { request = request.filter(Column("status") == status.rawValue) }
            return try request.limit(limit).fetchAll(db).map { try $0.delivery() }
        }
    }

    public func delivery(id: String) async throws -> WebhookDelivery? {
        try await pool.read { db in try DeliveryRow.fetchOne(db, key: id)?.delivery() }
    }

    public func dueDeliveries(at date: Date, excluding: Set<String>, limit: Int) async throws -> [DueDelivery] {
        try await pool.read { db in
            // The oldest pending delivery per (subscription, subject) only: a later event of a call
            // waits until the earlier ones have succeeded or been given up.
            let rows = try DeliveryRow.fetchAll(
                db,
                sql: """
                    SELECT d.* FROM delivery d JOIN webhook w ON w.id = d.webhookId
                    WHERE d.status = 'pending' AND d.nextAttemptAt <= ? AND w.enabled
                      AND NOT EXISTS (
                        SELECT 1 FROM delivery e
                        WHERE e.webhookId = d.webhookId AND e.orderKey = d.orderKey AND e.status = 'pending' AND e.eventId < d.eventId)
                    ORDER BY d.eventId LIMIT ?
                    """,
                arguments: [date, limit + excluding.count]
            )
            var due: [DueDelivery] = []
            var webhooks: [String: Webhook] = [:]
            for row in rows where !excluding.contains(row.id) {
                guard due.count < limit, let event = try EventRow.fetchOne(db, key: row.eventId)?.event else { continue }
                if webhooks[row.webhookId] == nil { webhooks[row.webhookId] = try WebhookRow.fetchOne(db, key: row.webhookId)?.webhook() }
                guard let webhook = webhooks[row.webhookId] else { continue }
                due.append(DueDelivery(delivery: try row.delivery(), event: event, webhook: webhook))
            }
            return due
        }
    }

    public func nextDeliveryDue() async throws -> Date? {
        try await pool.read { db in
            try Date.fetchOne(
                db,
                sql: "SELECT MIN(d.nextAttemptAt) FROM delivery d JOIN webhook w ON w.id = d.webhookId WHERE d.status = 'pending' AND w.enabled"
            )
        }
    }

    public func update(delivery: WebhookDelivery, disablingWebhook reason: String?) async throws {
        try await pool.write { db in
            guard try DeliveryRow.exists(db, key: delivery.id) else { return }
            try DeliveryRow(delivery).update(db)
            if let reason {
                _ = try WebhookRow.filter(key: delivery.webhookId)
                    .updateAll(db, Column("enabled").set(to: false), Column("disabledReason").set(to: reason))
            }
        }
    }

    public func redeliver(deliveryId: String, at date: Date) async throws -> WebhookDelivery? {
        try await pool.write { db in
            guard var delivery = try DeliveryRow.fetchOne(db, key: deliveryId)?.delivery() else { return nil }
            delivery.status = .pending
            delivery.nextAttemptAt = date
            delivery.completedAt = nil
            try DeliveryRow(delivery).update(db)
            return delivery
        }
    }

    public func deleteEvents(before date: Date) async throws -> Int {
        try await pool.write { db in
            try db.execute(
                sql: """
                    DELETE FROM event WHERE createdAt < ?
                      AND NOT EXISTS (SELECT 1 FROM delivery WHERE delivery.eventId = event.id AND delivery.status = 'pending')
                    """,
                arguments: [date]
            )
            return db.changesCount
        }
    }

    // MARK: Idempotency

    public func claimIdempotencyKey(_ key: IdempotencyKey, fingerprint: String, at date: Date) async throws -> IdempotentResponse? {
        try await pool.write { db in
            if let row = try IdempotencyRow.fetchOne(db, key: ["scope": key.scope, "key": key.key]) {
                return row.response
            }
            try IdempotencyRow(scope: key.scope, key: key.key, fingerprint: fingerprint, createdAt: date).insert(db)
            return nil
        }
    }

    public func completeIdempotencyKey(_ key: IdempotencyKey, response: IdempotentResponse.Stored) async throws {
        try await pool.write { db in
            guard var row = try IdempotencyRow.fetchOne(db, key: ["scope": key.scope, "key": key.key]) else { return }
            row.status = response.status
            row.contentType = response.contentType
            row.location = response.location
            row.body = Data(response.body)
            try row.update(db)
        }
    }

    public func releaseIdempotencyKey(_ key: IdempotencyKey) async throws {
        _ = try await pool.write { db in try IdempotencyRow.deleteOne(db, key: ["scope": key.scope, "key": key.key]) }
    }

    public func deleteIdempotencyKeys(before date: Date) async throws -> Int {
        try await pool.write { db in try IdempotencyRow.filter(Column("createdAt") < date).deleteAll(db) }
    }

    public func ping() async throws {
        _ = try await pool.read { db in try Int.fetchOne(db, sql: "SELECT 1") }
    }
}
