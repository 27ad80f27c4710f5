@testable import Control
import GRDB
import Foundation
import Logging
@testable import Store
import Testing

/// A fresh database in a temporary directory, removed at the end of the test.
struct TemporaryDatabase: ~Copyable {
    let directory: URL
    var path: String { directory.appendingPathComponent("switchboard.sqlite").path }

    init() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("store-tests-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    func open() throws -> SQLiteStorage { try SQLiteStorage(path: path, logger: Logger(label: "test")) }

    deinit { try? FileManager.default.removeItem(at: directory) }
}

/// A clock the test moves by hand.
final class TestClock: @unchecked Sendable {
    private let lock = NSLock()
    private var current = Date(timeIntervalSince1970: 1_800_000_000)

    var wall: WallClock { WallClock { [self] in lock.withLock { current } } }

    func advance(_ seconds: TimeInterval) { lock.withLock { current += seconds } }
}

@Suite struct SQLiteStorageTests {
    func services(_ storage: SQLiteStorage, clock: TestClock = TestClock()) -> (WidgetService, APIKeyService) {
        (
            WidgetService(storage: storage, clock: clock.wall, sessionLifetime: 600, pageRateLimiter: RateLimiter(perMinute: 2)),
            APIKeyService(storage: storage, clock: clock.wall)
        )
    }

    @Test func widgetLifecycleSurvivesReopening() async throws {
        let database = try TemporaryDatabase()
        let (widgets, _) = services(try database.open())
        let created = try await widgets.create(
            WidgetDraft(name: "Shop", appearance: Appearance(primaryColor: "#112233", language: "de"), destination: "sip:queue@example.com", allowedOrigins: ["https://Shop.example"])
        )
        #expect(created.appearance.primaryColor == "#112233")
        #expect(created.appearance.shape == Appearance.defaults.shape)
        #expect(created.allowedOrigins == ["https://shop.example"])
        #expect(created.enabled)

        let changed = try await widgets.update(id: created.id, WidgetChanges(label: .some("Ruf an"), appearance: Appearance(shape: "square"), recording: RecordingChanges(auto: true)))
        #expect(changed.label == "Ruf an")
        #expect(changed.appearance.primaryColor == "#112233")
        #expect(changed.appearance.shape == "square")
        #expect(changed.recording == RecordingPolicy(auto: true, announce: false))

        // A second connection to the same file sees exactly what was written.
        let (reopened, _) = services(try database.open())
        let read = try await reopened.get(id: created.id)
        #expect(read.label == "Ruf an")
        #expect(read.appearance == changed.appearance)
        #expect(read.createdAt.timeIntervalSince1970.rounded() == created.createdAt.timeIntervalSince1970.rounded())

        let reset = try await reopened.update(id: created.id, WidgetChanges(label: .some(nil)))
        #expect(reset.label == nil)
        #expect(reset.effectiveLabel == Appearance.defaultLabel(language: "de"))

        try await reopened.delete(id: created.id)
        await #expect(throws: ControlError.notFound(kind: "widget", id: created.id)) { try await reopened.get(id: created.id) }
        await #expect(throws: ControlError.notFound(kind: "widget", id: created.id)) { try await reopened.delete(id: created.id) }
    }

    @Test func invalidWidgetsAreRejectedWithEveryFieldNamed() async throws {
        let database = try TemporaryDatabase()
        let (widgets, _) = services(try database.open())
        do {
            _ = try await widgets.create(WidgetDraft(name: " ", destination: "sip:a@", allowedOrigins: ["https://x/path"]))
            Issue.record("expected a validation error")
        } catch let ControlError.validation(errors) {
            #expect(Set(errors.map(\.pointer)) == ["/name", "/destination", "/allowedOrigins/0"])
        }
        #expect(try await widgets.list(limit: nil, after: nil).items.isEmpty)
    }

    @Test func paginationVisitsEveryWidgetOnceInCreationOrder() async throws {
        let database = try TemporaryDatabase()
        let (widgets, _) = services(try database.open())
        var ids: [String] = []
        for index in 0..<23 {
            ids.append(try await widgets.create(WidgetDraft(name: "w\(index)", destination: "sip:q@example.com")).id)
        }
        var seen: [String] = []
        var cursor: String?
        repeat {
            let page = try await widgets.list(limit: 5, after: cursor)
            #expect(page.items.count <= 5)
            seen += page.items.map(\.id)
            cursor = page.nextCursor
        } while cursor != nil
        #expect(seen == ids)
    }

    @Test func sessionsFromPagesNeedAnAllowedOriginAndAreRateLimited() async throws {
        let database = try TemporaryDatabase()
        let clock = TestClock()
        let (widgets, keys) = services(try database.open(), clock: clock)
        let widget = try await widgets.create(WidgetDraft(name: "Shop", destination: "sip:q@example.com", allowedOrigins: ["https://shop.example"]))

        await #expect(throws: ControlError.self) {
            try await widgets.createSession(widgetId: widget.id, contextJSON: "{}", requester: .page(origin: nil, clientAddress: "10.1.1.1"))
        }
        await #expect(throws: ControlError.forbidden("origin https://evil.example is not allowed for this widget")) {
            try await widgets.createSession(widgetId: widget.id, contextJSON: "{}", requester: .page(origin: "https://evil.example", clientAddress: "10.1.1.1"))
        }
        let page = SessionRequester.page(origin: "https://shop.example", clientAddress: "10.1.1.1")
        let first = try await widgets.createSession(widgetId: widget.id, contextJSON: #"{"page":"/jeans"}"#, requester: page)
        #expect(!first.session.verified)
        _ = try await widgets.createSession(widgetId: widget.id, contextJSON: "{}", requester: page)
        await #expect(throws: ControlError.rateLimited(retryAfter: 30)) {
            try await widgets.createSession(widgetId: widget.id, contextJSON: "{}", requester: page)
        }
        // The backend is never rate-limited and its context is verified.
        let admin = try await keys.create(name: "backend")
        for _ in 0..<5 {
            let issued = try await widgets.createSession(widgetId: widget.id, contextJSON: "{}", requester: .backend(admin.key))
            #expect(issued.session.verified)
        }

        // The token finds its session until it expires; the store holds only the digest.
        let found = try await widgets.session(token: first.token.text)
        #expect(found?.id == first.session.id)
        #expect(found?.contextJSON == #"{"page":"/jeans"}"#)
        #expect(found?.tokenDigest != first.token.text)
        clock.advance(601)
        #expect(try await widgets.session(token: first.token.text) == nil)
        #expect(try await widgets.storage.deleteSessions(expiredBefore: clock.wall.now()) == 7)
    }

    @Test func oversizedContextAndDisabledWidgetsAreRefused() async throws {
        let database = try TemporaryDatabase()
        let (widgets, keys) = services(try database.open())
        let admin = try await keys.create(name: "backend")
        let widget = try await widgets.create(WidgetDraft(name: "Shop", destination: "sip:q@example.com", enabled: false))
        await #expect(throws: ControlError.conflict("widget \(widget.id) is disabled")) {
            try await widgets.createSession(widgetId: widget.id, contextJSON: "{}", requester: .backend(admin.key))
        }
        _ = try await widgets.update(id: widget.id, WidgetChanges(enabled: true))
        let big = #"{"x":""# + String(repeating: "a", count: WidgetSession.maxContextBytes) + #""}"#
        await #expect(throws: ControlError.self) {
            try await widgets.createSession(widgetId: widget.id, contextJSON: big, requester: .backend(admin.key))
        }
    }

    @Test func apiKeysBootstrapAuthenticateAndRevoke() async throws {
        let database = try TemporaryDatabase()
        let (_, keys) = services(try database.open())
        let generated = try #require(try await keys.bootstrap(preset: nil))
        #expect(try await keys.bootstrap(preset: nil) == nil, "a second bootstrap must not create another key")
        let admin = try #require(try await keys.authenticate(secret: generated.text))
        #expect(try await keys.authenticate(secret: generated.text + "x") == nil)
        #expect(try await keys.authenticate(secret: "") == nil)

        let other = try await keys.create(name: "ci")
        #expect(try await keys.authenticate(secret: other.secret.text)?.id == other.key.id)
        await #expect(throws: ControlError.conflict("an API key cannot revoke itself")) { try await keys.revoke(id: admin.id, by: admin) }
        try await keys.revoke(id: other.key.id, by: admin)
        #expect(try await keys.authenticate(secret: other.secret.text) == nil)
        #expect(try await keys.get(id: other.key.id).revokedAt != nil)
        let listed = try await keys.list(limit: 10, after: nil)
        #expect(listed.items.map(\.id) == [admin.id, other.key.id])
    }

    @Test func presetBootstrapKeyIsUsedOnlyOnAnEmptyDatabase() async throws {
        let database = try TemporaryDatabase()
        let (_, keys) = services(try database.open())
        #expect(try await keys.bootstrap(preset: "preset-secret-1") == nil)
        #expect(try await keys.authenticate(secret: "preset-secret-1") != nil)
        _ = try await keys.bootstrap(preset: "preset-secret-2")
        #expect(try await keys.authenticate(secret: "preset-secret-2") == nil)
    }

    @Test func idempotencyKeysAreClaimedOnceAndReplayed() async throws {
        let database = try TemporaryDatabase()
        let storage = try database.open()
        let key = IdempotencyKey(scope: "key:1", key: "abc")
        let now = Date()
        #expect(try await storage.claimIdempotencyKey(key, fingerprint: "f1", at: now) == nil)
        #expect(try await storage.claimIdempotencyKey(key, fingerprint: "f1", at: now) == IdempotentResponse(fingerprint: "f1", stored: nil))
        let stored = IdempotentResponse.Stored(status: 201, contentType: "application/json", location: "/v1/widgets/x", body: Array("{}".utf8))
        try await storage.completeIdempotencyKey(key, response: stored)
        #expect(try await storage.claimIdempotencyKey(key, fingerprint: "f2", at: now) == IdempotentResponse(fingerprint: "f1", stored: stored))
        // Scopes are separate.
        #expect(try await storage.claimIdempotencyKey(IdempotencyKey(scope: "key:2", key: "abc"), fingerprint: "f1", at: now) == nil)
        try await storage.releaseIdempotencyKey(IdempotencyKey(scope: "key:2", key: "abc"))
        #expect(try await storage.claimIdempotencyKey(IdempotencyKey(scope: "key:2", key: "abc"), fingerprint: "f3", at: now) == nil)
        #expect(try await storage.deleteIdempotencyKeys(before: now.addingTimeInterval(1)) == 2)
    }

    /// A database from before trunk SRTP settings opens, and its trunks keep plain RTP.
    @Test func trunksFromBeforeTheSRTPSettingAreOff() async throws {
        let database = try TemporaryDatabase()
        do {
            let queue = try DatabaseQueue(path: database.path)
            try SQLiteStorage.migrator.migrate(queue, upTo: "v6: routing webhooks")
            try await queue.write { db in
                try db.execute(
                    sql: """
                        INSERT INTO trunk (id, name, uri, transport, codecs, createdAt, updatedAt)
                        VALUES ('trk_old', 'old', 'sip:127.0.0.1:5060', 'udp', '["PCMU"]', '2026-01-01 00:00:00.000', '2026-01-01 00:00:00.000')
                        """
                )
            }
            try queue.close()
        }
        let storage = try database.open()
        let old = try #require(try await storage.trunk(id: "trk_old"))
        #expect(old.srtp == .off)
        var changed = old
        changed.srtp = .required
        #expect(try await storage.update(trunk: changed))
        #expect(try await storage.trunk(id: "trk_old")?.srtp == .required)
    }

    @Test func migrationsRunOnceAndTheJournalIsWAL() async throws {
        let database = try TemporaryDatabase()
        let first = try database.open()
        let second = try database.open()
        let mode = try await second.pool.read { db in try String.fetchOne(db, sql: "PRAGMA journal_mode") }
        #expect(mode == "wal")
        let applied = try await first.pool.read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM grdb_migrations") }
        #expect(applied == SQLiteStorage.migrator.migrations.count)
    }
}
