@testable import Control
import Foundation
import Store
import Testing

/// Call events from the call log, through the SQLite outbox, to due deliveries.
@Suite struct EventOutboxTests {
    func call(_ id: String, _ status: CallStatus, at date: Date, media: CallMedia? = nil) -> Call {
        Call(
            id: id, status: status, source: CallSource(kind: .widget, widgetId: "wid_1", sessionId: "wss_1"), from: "sip:a@b", to: "sip:c@d",
            destination: "sip:q@cc", contextJSON: #"{"customer":"Ada","pageUrl":"https://shop.example/cart"}"#, contextVerified: true,
            userAgent: "Mozilla/5.0 test", createdAt: date, media: media
        )
    }

    static let media = CallMedia(
        mode: "relay", browserCodec: "PCMU/8000", calleeCodec: "PCMU/8000",
        browser: CallMediaLeg(packetsReceived: 1, packetsSent: 1, packetsLost: 0, jitterMilliseconds: 0, roundTripMilliseconds: nil, authenticationFailures: 0),
        callee: CallMediaLeg(packetsReceived: 1, packetsSent: 1, packetsLost: 0, jitterMilliseconds: 0, roundTripMilliseconds: nil, authenticationFailures: 0),
        meanOpinionScore: 4.4
    )

    @Test func statusChangesBecomeEventsWithSequencesAndOneDeliveryPerSubscription() async throws {
        let outbox = try Outbox()
        let (storage, clock, webhooks) = (outbox.storage, outbox.clock, outbox.webhooks)
        let all = try await webhooks.create(WebhookFields(url: "https://crm.example/all"))
        let answers = try await webhooks.create(WebhookFields(url: "https://crm.example/answers", events: ["call.answered"]))
        _ = try await webhooks.create(WebhookFields(url: "https://crm.example/off", enabled: false))
        let log = CallLog(storage: storage, clock: clock.wall)
        let counter = Counter()
        log.onEventsWritten { counter.add() }

        log.record(call("cal_1", .initiated, at: clock.wall.now()))
        log.record(call("cal_1", .ringing, at: clock.wall.now()))
        log.record(call("cal_1", .ringing, at: clock.wall.now()))  // no change, no event
        log.record(call("cal_1", .inProgress, at: clock.wall.now()))
        log.record(call("cal_1", .completed, at: clock.wall.now()))
        try await log.flush()
        #expect(counter.value == 1)

        let events = try await storage.events(filter: EventFilter(subjectId: "cal_1"), after: nil, limit: 10)
        #expect(events.map(\.type) == ["call.initiated", "call.ringing", "call.answered", "call.completed"])
        #expect(events.map(\.sequence) == [1, 2, 3, 4])
        let data = try #require(try JSONSerialization.jsonObject(with: Data(events[0].dataJSON.utf8)) as? [String: Any])
        #expect((data["context"] as? [String: Any])?["customer"] as? String == "Ada")
        #expect(data["page"] as? String == "https://shop.example/cart")
        #expect(data["userAgent"] as? String == "Mozilla/5.0 test")
        #expect(data["contextVerified"] as? Bool == true)
        #expect(data["widgetId"] as? String == "wid_1")
        #expect(events[0].envelopeJSON.hasPrefix(#"{"id":"evt_"#))

        let toAll = try await storage.deliveries(webhookId: all.webhook.id, status: nil, after: nil, limit: 10)
        #expect(toAll.map(\.eventId) == events.map(\.id))
        let toAnswers = try await storage.deliveries(webhookId: answers.webhook.id, status: nil, after: nil, limit: 10)
        #expect(toAnswers.map(\.eventType) == ["call.answered"])
        #expect(try await storage.call(id: "cal_1")?.status == .completed)
    }

    /// A reader's flush (GET /v1/calls) racing the background loop's: every event is written
    /// once, with one delivery per subscription, and none is lost or refused as a duplicate.
    @Test func concurrentFlushesWriteEachEventOnce() async throws {
        let outbox = try Outbox()
        let (storage, clock, webhooks) = (outbox.storage, outbox.clock, outbox.webhooks)
        let hook = try await webhooks.create(WebhookFields(url: "https://crm.example/all"))
        let log = CallLog(storage: storage, clock: clock.wall)
        for round in 0..<20 {
            for i in 0..<10 {
                let id = "cal_\(round)_\(i)"
                log.record(call(id, .initiated, at: clock.wall.now()))
                log.record(call(id, .ringing, at: clock.wall.now()))
            }
            try await withThrowingTaskGroup(of: Void.self) { group in
                for _ in 0..<4 { group.addTask { try await log.flush() } }
                try await group.waitForAll()
            }
        }
        let events = try await storage.events(filter: EventFilter(), after: nil, limit: 1_000)
        #expect(events.count == 400)
        #expect(Set(events.map(\.id)).count == 400)
        let deliveries = try await storage.deliveries(webhookId: hook.webhook.id, status: nil, after: nil, limit: 1_000)
        #expect(deliveries.count == 400)
        #expect(Set(deliveries.map(\.eventId)) == Set(events.map(\.id)))
    }

    @Test func theFinalEventWaitsForTheMediaReportButNotForever() async throws {
        let database = try TemporaryDatabase()
        let storage = try database.open()
        let clock = TestClock()
        let log = CallLog(storage: storage, clock: clock.wall) { call in
            #"{"id":"\#(call.id)","meanOpinionScore":\#(call.media?.meanOpinionScore ?? 0)}"#
        }
        log.record(call("cal_m", .initiated, at: clock.wall.now()))
        log.expectMediaReport(callId: "cal_m")
        log.record(call("cal_m", .completed, at: clock.wall.now()))
        try await log.flush()
        #expect(try await storage.events(filter: EventFilter(type: "call.completed"), after: nil, limit: 10).isEmpty)
        log.record(call("cal_m", .completed, at: clock.wall.now(), media: Self.media))
        try await log.flush()
        let completed = try await storage.events(filter: EventFilter(type: "call.completed"), after: nil, limit: 10)
        #expect(completed.count == 1)
        #expect(completed.first?.dataJSON.contains(#""meanOpinionScore":4.4"#) == true)

        // Without a report the event goes after the wait, without media.
        log.record(call("cal_n", .initiated, at: clock.wall.now()))
        log.expectMediaReport(callId: "cal_n")
        log.record(call("cal_n", .failed, at: clock.wall.now()))
        try await log.flush()
        #expect(try await storage.events(filter: EventFilter(type: "call.failed"), after: nil, limit: 10).isEmpty)
        clock.advance(3)
        try await log.flush()
        #expect(try await storage.events(filter: EventFilter(type: "call.failed"), after: nil, limit: 10).count == 1)
        // A late report changes the call, not its events.
        log.record(call("cal_n", .failed, at: clock.wall.now(), media: Self.media))
        try await log.flush()
        #expect(try await storage.events(filter: EventFilter(subjectId: "cal_n"), after: nil, limit: 10).count == 2)
    }

    @Test func dueDeliveriesKeepEachCallsOrderPerSubscription() async throws {
        let outbox = try Outbox()
        let (storage, clock, webhooks) = (outbox.storage, outbox.clock, outbox.webhooks)
        let hook = try await webhooks.create(WebhookFields(url: "https://crm.example/all"))
        let log = CallLog(storage: storage, clock: clock.wall)
        for id in ["cal_a", "cal_b"] {
            log.record(call(id, .initiated, at: clock.wall.now()))
            log.record(call(id, .inProgress, at: clock.wall.now()))
        }
        try await log.flush()
        let later = clock.wall.now().addingTimeInterval(60)
        var due = try await storage.dueDeliveries(at: later, excluding: [], limit: 10)
        // Only the first event of each call is due; the answers wait behind them.
        #expect(due.map(\.event.type) == ["call.initiated", "call.initiated"])
        #expect(Set(due.map { $0.event.subjectId ?? "" }) == ["cal_a", "cal_b"])
        #expect(due.allSatisfy { $0.webhook.id == hook.webhook.id })

        // An attempt in flight is left out, and still holds back its call's later events.
        let first = due[0]
        due = try await storage.dueDeliveries(at: later, excluding: [first.delivery.id], limit: 10)
        #expect(due.count == 1)
        #expect(due.first?.event.subjectId != first.event.subjectId)

        // A failure with a retry later keeps the call's next event waiting; a success releases it.
        var failed = first.delivery
        failed.attempts.append(DeliveryAttempt(number: 1, at: clock.wall.now(), statusCode: 503, error: "503", durationMilliseconds: 1))
        failed.nextAttemptAt = later.addingTimeInterval(3600)
        try await storage.update(delivery: failed, disablingWebhook: nil)
        due = try await storage.dueDeliveries(at: later, excluding: [], limit: 10)
        #expect(!due.contains { $0.event.subjectId == first.event.subjectId })
        #expect(try await storage.nextDeliveryDue() != nil)
        var succeeded = failed
        succeeded.status = .succeeded
        succeeded.nextAttemptAt = nil
        try await storage.update(delivery: succeeded, disablingWebhook: nil)
        due = try await storage.dueDeliveries(at: later, excluding: [], limit: 10)
        #expect(due.contains { $0.event.subjectId == first.event.subjectId && $0.event.type == "call.answered" })

        // 410: the subscription is disabled and nothing of it is due any more.
        try await storage.update(delivery: due[0].delivery, disablingWebhook: "gone")
        #expect(try await storage.webhook(id: hook.webhook.id)?.enabled == false)
        #expect(try await storage.dueDeliveries(at: later, excluding: [], limit: 10).isEmpty)
        #expect(try await storage.nextDeliveryDue() == nil)
    }
}

final class Counter: @unchecked Sendable {
    private let lock = NSLock()
    private var count = 0
    func add() { lock.withLock { count += 1 } }
    var value: Int { lock.withLock { count } }
}

@Suite struct EventRetentionTests {
    @Test func oldEventsGoWithTheirDeliveriesUnlessOneIsPending() async throws {
        let outbox = try Outbox()
        let (storage, clock, webhooks) = (outbox.storage, outbox.clock, outbox.webhooks)
        let hook = try await webhooks.create(WebhookFields(url: "https://crm.example/all", events: ["call.initiated"]))
        let log = CallLog(storage: storage, clock: clock.wall)
        for id in ["cal_old", "cal_pending"] {
            log.record(Call(id: id, status: .initiated, source: CallSource(kind: .trunk), from: "a", to: "b", destination: "c", createdAt: clock.wall.now()))
        }
        try await log.flush()
        let deliveries = try await storage.deliveries(webhookId: hook.webhook.id, status: nil, after: nil, limit: 10)
        var done = try #require(deliveries.first)
        done.status = .succeeded
        try await storage.update(delivery: done, disablingWebhook: nil)
        clock.advance(86_400)
        #expect(try await storage.deleteEvents(before: clock.wall.now()) == 1)
        let left = try await storage.events(filter: EventFilter(), after: nil, limit: 10)
        #expect(left.count == 1 && left.first?.id == deliveries.last?.eventId)
        #expect(try await storage.deliveries(webhookId: hook.webhook.id, status: nil, after: nil, limit: 10).map(\.status) == [.pending])
    }
}

/// A store in a temporary database, its clock, and webhook subscriptions on it.
struct Outbox: ~Copyable {
    let database: TemporaryDatabase
    let storage: SQLiteStorage
    let clock: TestClock
    let webhooks: WebhookService

    init() throws {
        let database = try TemporaryDatabase()
        let storage = try database.open()
        let clock = TestClock()
        self.webhooks = WebhookService(storage: storage, secrets: SecretBox(keyBytes: Array(repeating: 1, count: 32)), clock: clock.wall)
        self.storage = storage
        self.clock = clock
        self.database = database
    }
}
