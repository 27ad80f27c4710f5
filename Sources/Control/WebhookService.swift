import Crypto
import Foundation

/// Webhook subscriptions and their deliveries, as the API sees them. Sending is the
/// dispatcher's work; this service only reads and changes what is stored.
public final class WebhookService: Sendable {
    public let storage: any Storage
    public let clock: WallClock
    let secrets: SecretBox

    public init(storage: any Storage, secrets: SecretBox, clock: WallClock = .system) {
        self.storage = storage
        self.secrets = secrets
        self.clock = clock
    }

    public func create(_ fields: WebhookFields) async throws -> IssuedWebhook {
        guard let url = fields.url else { throw ControlError.validation([FieldError(pointer: "/url", detail: "is required")]) }
        try validate(fields)
        let now = clock.now()
        let secret = Self.makeSecret()
        let webhook = Webhook(
            id: Identifier.make(Webhook.idPrefix, millis: clock.millis), url: url, events: fields.events ?? ["*"],
            format: fields.format ?? .json, xmlrpcMethod: fields.xmlrpcMethod ?? Webhook.defaultXMLRPCMethod,
            description: fields.description, sealedSecret: try secrets.seal(secret.text), enabled: fields.enabled ?? true,
            disabledReason: nil, createdAt: now, updatedAt: now
        )
        try await storage.insert(webhook: webhook)
        return IssuedWebhook(webhook: webhook, secret: secret)
    }

    public func get(id: String) async throws -> Webhook {
        guard let webhook = try await storage.webhook(id: id) else { throw ControlError.notFound(kind: "webhook", id: id) }
        return webhook
    }

    public func list(limit: Int?, after: String?) async throws -> Page<Webhook> {
        let request = try PageRequest(limit: limit, after: after, idPrefix: Webhook.idPrefix)
        return request.page(try await storage.webhooks(after: request.after, limit: request.limit + 1), id: \.id)
    }

    public func update(id: String, _ fields: WebhookFields) async throws -> Webhook {
        try validate(fields)
        var webhook = try await get(id: id)
        if let url = fields.url { webhook.url = url }
        if let events = fields.events { webhook.events = events }
        if let format = fields.format { webhook.format = format }
        if let method = fields.xmlrpcMethod { webhook.xmlrpcMethod = method }
        if let description = fields.description { webhook.description = description }
        if let enabled = fields.enabled {
            webhook.enabled = enabled
            if enabled { webhook.disabledReason = nil }
        }
        webhook.updatedAt = clock.now()
        guard try await storage.update(webhook: webhook) else { throw ControlError.notFound(kind: "webhook", id: id) }
        return webhook
    }

    public func delete(id: String) async throws {
        guard try await storage.deleteWebhook(id: id) else { throw ControlError.notFound(kind: "webhook", id: id) }
    }

    public func deliveries(webhookId: String, status: WebhookDelivery.Status?, limit: Int?, after: String?) async throws -> Page<WebhookDelivery> {
        _ = try await get(id: webhookId)
        let request = try PageRequest(limit: limit, after: after, idPrefix: WebhookDelivery.idPrefix)
        let rows = try await storage.deliveries(webhookId: webhookId, status: status, after: request.after, limit: request.limit + 1)
        return request.page(rows, id: \.id)
    }

    public func delivery(webhookId: String, id: String) async throws -> WebhookDelivery {
        guard let delivery = try await storage.delivery(id: id), delivery.webhookId == webhookId else {
            throw ControlError.notFound(kind: "delivery", id: id)
        }
        return delivery
    }

    /// Sends a delivery again, now, with the same `webhook-id`: for a failed one, or to repeat
    /// one that succeeded.
    public func redeliver(webhookId: String, id: String) async throws -> WebhookDelivery {
        let webhook = try await get(id: webhookId)
        guard webhook.enabled else { throw ControlError.conflict("webhook \(webhookId) is disabled; enable it first") }
        _ = try await delivery(webhookId: webhookId, id: id)
        guard let delivery = try await storage.redeliver(deliveryId: id, at: clock.now()) else {
            throw ControlError.notFound(kind: "delivery", id: id)
        }
        return delivery
    }

    /// The secret of a subscription, opened for signing.
    public func secret(of webhook: Webhook) throws -> String { try secrets.open(webhook.sealedSecret) }

    // MARK: Rules

    static func makeSecret() -> Secret {
        var generator = SystemRandomNumberGenerator()
        let bytes = (0..<32).map { _ in UInt8.random(in: .min ... .max, using: &generator) }
        return Secret(text: Webhook.secretPrefix + Data(bytes).base64EncodedString())
    }

    private func validate(_ fields: WebhookFields) throws {
        var errors: [FieldError] = []
        if let url = fields.url, let problem = Self.urlProblem(url) {
            errors.append(FieldError(pointer: "/url", detail: problem))
        }
        if let events = fields.events {
            if events.isEmpty || events.count > 50 { errors.append(FieldError(pointer: "/events", detail: "must list 1 to 50 event types")) }
            for (index, pattern) in events.enumerated() where !EventType.isValidPattern(pattern) {
                errors.append(FieldError(
                    pointer: "/events/\(index)",
                    detail: "\(pattern) is not an event type (\(EventType.allCases.map(\.rawValue).joined(separator: ", "))), a prefix pattern such as call.*, or *"
                ))
            }
        }
        if let method = fields.xmlrpcMethod, !Self.isMethodName(method) {
            errors.append(FieldError(pointer: "/xmlrpcMethod", detail: "must be 1 to 128 letters, digits and . _ : /"))
        }
        if let description = fields.description, description.count > 500 {
            errors.append(FieldError(pointer: "/description", detail: "must be at most 500 characters"))
        }
        guard errors.isEmpty else { throw ControlError.validation(errors) }
    }

    static func urlProblem(_ text: String) -> String? {
        guard text.utf8.count <= 2048, let url = URL(string: text), let scheme = url.scheme?.lowercased(), let host = url.host, !host.isEmpty else {
            return "must be an absolute http or https URL"
        }
        guard scheme == "http" || scheme == "https" else { return "must be an http or https URL" }
        guard url.user == nil, url.password == nil else { return "must not carry credentials" }
        guard url.fragment == nil else { return "must not have a fragment" }
        return nil
    }

    static func isMethodName(_ name: String) -> Bool {
        (1...128).contains(name.utf8.count)
            && name.utf8.allSatisfy { byte in
                (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte | 0x20) || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte)
                    || [UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: ":"), UInt8(ascii: "/")].contains(byte)
            }
    }
}

/// Standard Webhooks signatures: `v1,` and the base64 HMAC-SHA256, keyed with the base64
/// decoding of the secret after `whsec_`, over `{id}.{timestamp}.{body}`.
public enum WebhookSignature {
    public static func sign(secret: String, id: String, timestamp: Int, body: [UInt8]) -> String? {
        guard secret.hasPrefix(Webhook.secretPrefix), let key = Data(base64Encoded: String(secret.dropFirst(Webhook.secretPrefix.count))) else {
            return nil
        }
        var message = Array("\(id).\(timestamp).".utf8)
        message += body
        let mac = HMAC<SHA256>.authenticationCode(for: message, using: SymmetricKey(data: key))
        return "v1," + Data(mac).base64EncodedString()
    }
}
