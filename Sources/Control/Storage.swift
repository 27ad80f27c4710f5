public import Foundation

/// Where the domain keeps its state. SQLite is the embedded default; a PostgreSQL implementation
/// serves several gateway nodes. Every method is one transaction.
public protocol Storage: Sendable {
    // Widgets
    func insert(widget: Widget) async throws
    func widget(id: String) async throws -> Widget?
    /// Up to `limit` widgets with ids after `after`, in id order.
    func widgets(after: String?, limit: Int) async throws -> [Widget]
    /// Replaces the stored widget; false when there is none with that id.
    func update(widget: Widget) async throws -> Bool
    /// Deletes the widget and its sessions; false when there is none with that id.
    func deleteWidget(id: String) async throws -> Bool

    // Widget sessions
    func insert(session: WidgetSession) async throws
    func session(tokenDigest: String) async throws -> WidgetSession?
    func deleteSessions(expiredBefore: Date) async throws -> Int

    // API keys
    func insert(apiKey: APIKey) async throws
    func apiKey(id: String) async throws -> APIKey?
    func apiKey(secretDigest: String) async throws -> APIKey?
    func apiKeys(after: String?, limit: Int) async throws -> [APIKey]
    func countAPIKeys() async throws -> Int
    /// Marks the key revoked; false when there is none with that id.
    func revokeAPIKey(id: String, at: Date) async throws -> Bool
    func touchAPIKey(id: String, at: Date) async throws

    // Trunks
    func insert(trunk: Trunk) async throws
    func trunk(id: String) async throws -> Trunk?
    func trunks(after: String?, limit: Int) async throws -> [Trunk]
    func update(trunk: Trunk) async throws -> Bool
    func deleteTrunk(id: String) async throws -> Bool

    // Calls
    /// Inserts or replaces each call and appends each event (with a pending delivery for every
    /// enabled webhook that wants it), all in one transaction: the outbox.
    func upsert(calls: [Call], events: [Event]) async throws
    func call(id: String) async throws -> Call?
    func calls(filter: CallFilter, after: String?, limit: Int) async throws -> [Call]

    // Events
    /// Up to `limit` events with ids after `after`, oldest first.
    func events(filter: EventFilter, after: String?, limit: Int) async throws -> [Event]
    func event(id: String) async throws -> Event?

    // Webhooks
    func insert(webhook: Webhook) async throws
    func webhook(id: String) async throws -> Webhook?
    func webhooks(after: String?, limit: Int) async throws -> [Webhook]
    func update(webhook: Webhook) async throws -> Bool
    /// Deletes the subscription and its deliveries; false when there is none with that id.
    func deleteWebhook(id: String) async throws -> Bool

    // Deliveries
    func deliveries(webhookId: String, status: WebhookDelivery.Status?, after: String?, limit: Int) async throws -> [WebhookDelivery]
    func delivery(id: String) async throws -> WebhookDelivery?
    /// Pending deliveries of enabled subscriptions whose attempt is due at `date`, oldest event
    /// first, leaving out those in `excluding` and any whose subscription still has an older
    /// pending delivery for the same subject (so that each call's events arrive in order).
    func dueDeliveries(at date: Date, excluding: Set<String>, limit: Int) async throws -> [DueDelivery]
    /// When the next pending delivery of an enabled subscription is due, if any is.
    func nextDeliveryDue() async throws -> Date?
    /// Stores the outcome of an attempt; `disablingWebhook` also disables its subscription.
    func update(delivery: WebhookDelivery, disablingWebhook reason: String?) async throws
    /// Makes the delivery pending and due at `date`; nil when there is none with that id.
    func redeliver(deliveryId: String, at date: Date) async throws -> WebhookDelivery?
    /// Deletes events created before `date`, with their deliveries, unless a delivery is still
    /// pending; returns how many events went.
    func deleteEvents(before date: Date) async throws -> Int

    // Idempotency of POSTs
    /// Claims `key` for a request with this fingerprint. Returns the stored record when the key
    /// was already claimed (finished or still running), `nil` when the claim is new.
    func claimIdempotencyKey(_ key: IdempotencyKey, fingerprint: String, at: Date) async throws -> IdempotentResponse?
    func completeIdempotencyKey(_ key: IdempotencyKey, response: IdempotentResponse.Stored) async throws
    func releaseIdempotencyKey(_ key: IdempotencyKey) async throws
    func deleteIdempotencyKeys(before: Date) async throws -> Int

    /// Cheap round trip for health checks.
    func ping() async throws
}

extension Storage {
    public func upsert(calls: [Call]) async throws { try await upsert(calls: calls, events: []) }
}

/// An `Idempotency-Key` as scoped to its caller (API key id, or the client address of an
/// anonymous caller).
public struct IdempotencyKey: Sendable, Hashable {
    public var scope: String
    public var key: String

    public init(scope: String, key: String) {
        self.scope = scope
        self.key = key
    }
}

/// What an earlier request with the same idempotency key produced.
public struct IdempotentResponse: Sendable, Equatable {
    public var fingerprint: String
    /// `nil` while the first request is still being handled.
    public var stored: Stored?

    public init(fingerprint: String, stored: Stored?) {
        self.fingerprint = fingerprint
        self.stored = stored
    }

    public struct Stored: Sendable, Equatable {
        public var status: Int
        public var contentType: String?
        public var location: String?
        public var body: [UInt8]

        public init(status: Int, contentType: String?, location: String?, body: [UInt8]) {
            self.status = status
            self.contentType = contentType
            self.location = location
            self.body = body
        }
    }
}
