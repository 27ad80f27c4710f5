public import Foundation

/// A subscription of the CRM to events: where to send them and how.
public struct Webhook: Sendable, Equatable {
    public enum Format: String, Sendable, Codable, CaseIterable {
        /// A signed JSON POST of the envelope (Standard Webhooks).
        case json
        /// An XML-RPC call of ``Webhook/xmlrpcMethod`` with the envelope as a struct, signed the same way.
        case xmlrpc
    }

    public var id: String
    public var url: String
    /// Event types or `prefix.*` patterns, or `*`.
    public var events: [String]
    public var format: Format
    public var xmlrpcMethod: String
    public var description: String?
    /// The signing secret (`whsec_…`), sealed with the installation key.
    public var sealedSecret: String
    public var enabled: Bool
    /// Why the gateway disabled the subscription (the endpoint answered 410), if it did.
    public var disabledReason: String?
    public var createdAt: Date
    public var updatedAt: Date

    public static let idPrefix = "whk"
    public static let secretPrefix = "whsec_"
    public static let defaultXMLRPCMethod = "switchboard.event"

    public init(
        id: String, url: String, events: [String], format: Format, xmlrpcMethod: String, description: String?,
        sealedSecret: String, enabled: Bool, disabledReason: String?, createdAt: Date, updatedAt: Date
    ) {
        self.id = id
        self.url = url
        self.events = events
        self.format = format
        self.xmlrpcMethod = xmlrpcMethod
        self.description = description
        self.sealedSecret = sealedSecret
        self.enabled = enabled
        self.disabledReason = disabledReason
        self.createdAt = createdAt
        self.updatedAt = updatedAt
    }

    public func wants(_ type: String) -> Bool {
        events.contains { EventType.pattern($0, matches: type) }
    }
}

/// One event on its way to one subscription, with every attempt made so far.
public struct WebhookDelivery: Sendable, Equatable {
    public enum Status: String, Sendable, Codable {
        /// Waiting for its (next) attempt.
        case pending
        case succeeded
        /// Given up: the attempts ran out, or the endpoint answered 410.
        case failed
    }

    public var id: String
    public var webhookId: String
    public var eventId: String
    public var eventType: String
    /// Deliveries with the same subject (call) reach a subscription in event order.
    public var subjectId: String?
    public var status: Status
    public var attempts: [DeliveryAttempt]
    public var nextAttemptAt: Date?
    public var createdAt: Date
    public var completedAt: Date?

    public static let idPrefix = "dlv"
    /// Attempts kept per delivery (the oldest are dropped).
    public static let keptAttempts = 25

    public init(
        id: String, webhookId: String, eventId: String, eventType: String, subjectId: String?, status: Status,
        attempts: [DeliveryAttempt], nextAttemptAt: Date?, createdAt: Date, completedAt: Date?
    ) {
        self.id = id
        self.webhookId = webhookId
        self.eventId = eventId
        self.eventType = eventType
        self.subjectId = subjectId
        self.status = status
        self.attempts = attempts
        self.nextAttemptAt = nextAttemptAt
        self.createdAt = createdAt
        self.completedAt = completedAt
    }

    /// Attempts ever made, including those no longer kept.
    public var attemptCount: Int { attempts.last?.number ?? 0 }
}

public struct DeliveryAttempt: Sendable, Equatable, Codable {
    public var number: Int
    public var at: Date
    /// The HTTP status the endpoint answered, if it answered.
    public var statusCode: Int?
    /// What went wrong: a connection error, a timeout, an XML-RPC fault, an unexpected status.
    public var error: String?
    public var durationMilliseconds: Int

    public init(number: Int, at: Date, statusCode: Int?, error: String?, durationMilliseconds: Int) {
        self.number = number
        self.at = at
        self.statusCode = statusCode
        self.error = error
        self.durationMilliseconds = durationMilliseconds
    }
}

/// A delivery that is due, with what its attempt needs.
public struct DueDelivery: Sendable {
    public var delivery: WebhookDelivery
    public var event: Event
    public var webhook: Webhook

    public init(delivery: WebhookDelivery, event: Event, webhook: Webhook) {
        self.delivery = delivery
        self.event = event
        self.webhook = webhook
    }
}

/// The fields of a subscription as a caller gives them: `nil` is "unset" on create and
/// "unchanged" on update.
public struct WebhookFields: Sendable {
    public var url: String?
    public var events: [String]?
    public var format: Webhook.Format?
    public var xmlrpcMethod: String?
    public var description: String?
    public var enabled: Bool?

    public init(
        url: String? = nil, events: [String]? = nil, format: Webhook.Format? = nil, xmlrpcMethod: String? = nil,
        description: String? = nil, enabled: Bool? = nil
    ) {
        self.url = url
        self.events = events
        self.format = format
        self.xmlrpcMethod = xmlrpcMethod
        self.description = description
        self.enabled = enabled
    }
}

/// A new subscription with its signing secret, shown only this once.
public struct IssuedWebhook: Sendable {
    public var webhook: Webhook
    public var secret: Secret
}
