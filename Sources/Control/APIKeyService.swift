import Foundation
import Synchronization

/// API keys: bootstrap, authentication, creation, listing, revocation.
public struct APIKeyService: Sendable {
    public let storage: any Storage
    public let clock: WallClock
    /// When each key's `lastUsedAt` was last written, so that a busy key costs one write a minute.
    private let lastTouched = LastTouched()

    public init(storage: any Storage, clock: WallClock = .system) {
        self.storage = storage
        self.clock = clock
    }

    /// On an empty key table, creates the first admin key: `preset` when given (from
    /// `SWITCHBOARD_BOOTSTRAP_KEY`), else a random one that is returned so it can be shown once.
    /// Returns `nil` when keys already exist or the preset was used.
    public func bootstrap(preset: String?) async throws -> Secret? {
        guard try await storage.countAPIKeys() == 0 else { return nil }
        let secret = preset.map(Secret.init(text:)) ?? Secret.generate(prefix: APIKey.secretPrefix)
        try await storage.insert(apiKey: makeKey(name: "admin (bootstrap)", secret: secret))
        return preset == nil ? secret : nil
    }

    /// The live key for a presented secret, or `nil`.
    public func authenticate(secret: String) async throws -> APIKey? {
        guard !secret.isEmpty, secret.utf8.count <= 512,
            let key = try await storage.apiKey(secretDigest: Secret(text: secret).digest),
            key.revokedAt == nil
        else { return nil }
        let now = clock.now()
        if lastTouched.shouldTouch(key.id, now: now) {
            try await storage.touchAPIKey(id: key.id, at: now)
        }
        return key
    }

    public func create(name: String) async throws -> IssuedAPIKey {
        guard !name.trimmingCharacters(in: .whitespaces).isEmpty, name.count <= 200 else {
            throw ControlError.validation([FieldError(pointer: "/name", detail: "must be 1 to 200 characters")])
        }
        let secret = Secret.generate(prefix: APIKey.secretPrefix)
        let key = makeKey(name: name, secret: secret)
        try await storage.insert(apiKey: key)
        return IssuedAPIKey(key: key, secret: secret)
    }

    public func get(id: String) async throws -> APIKey {
        guard let key = try await storage.apiKey(id: id) else { throw ControlError.notFound(kind: "api key", id: id) }
        return key
    }

    public func list(limit: Int?, after: String?) async throws -> Page<APIKey> {
        let request = try PageRequest(limit: limit, after: after, idPrefix: APIKey.idPrefix)
        let rows = try await storage.apiKeys(after: request.after, limit: request.limit + 1)
        return request.page(rows, id: \.id)
    }

    /// Revokes key `id`. A key cannot revoke itself, so an admin cannot lock themselves out.
    public func revoke(id: String, by caller: APIKey) async throws {
        guard id != caller.id else { throw ControlError.conflict("an API key cannot revoke itself") }
        let key = try await get(id: id)
        guard key.revokedAt == nil else { return }
        guard try await storage.revokeAPIKey(id: id, at: clock.now()) else { throw ControlError.notFound(kind: "api key", id: id) }
    }

    private func makeKey(name: String, secret: Secret) -> APIKey {
        APIKey(
            id: Identifier.make(APIKey.idPrefix, millis: clock.millis),
            name: name,
            prefix: String(secret.text.prefix(APIKey.shownPrefixLength)),
            secretDigest: secret.digest,
            createdAt: clock.now()
        )
    }
}

private final class LastTouched: Sendable {
    private let times = Mutex<[String: Date]>([:])

    func shouldTouch(_ id: String, now: Date) -> Bool {
        times.withLock { times in
            if let last = times[id], now.timeIntervalSince(last) < 60 { return false }
            times[id] = now
            return true
        }
    }
}
