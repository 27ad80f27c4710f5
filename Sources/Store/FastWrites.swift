import Control
import Foundation
import GRDB

/// Dates as GRDB stores them ("yyyy-MM-dd HH:mm:ss.SSS", UTC; what `Date.databaseValue` writes),
/// without a `DateFormatter`: the call log writes several per call, and ICU's formatter was a
/// visible share of the writer's time at high call rates.
enum StorageDate {
    static func text(_ date: Date) -> String {
        // To the nearest millisecond, as the formatter does.
        let millis = Int64((date.timeIntervalSince1970 * 1000).rounded())
        let (q, r) = millis.quotientAndRemainder(dividingBy: 1000)
        let (seconds, fraction) = r < 0 ? (q - 1, r + 1000) : (q, r)
        return CivilTime(secondsSince1970: seconds).text(separator: UInt8(ascii: " "), fraction: fraction)
    }
}

/// The rows the call log writes on every flush, as cached statements with their arguments bound
/// by hand (the `Encodable` record path builds a container per row).
extension CallRow {
    static let upsertSQL = """
        INSERT INTO "call" (id, status, sourceKind, widgetId, sessionId, trunkId, fromURI, toURI, destination, sipCode, \
        hangupCause, hangupBy, context, contextVerified, userAgent, createdAt, answeredAt, endedAt, media) \
        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) \
        ON CONFLICT(id) DO UPDATE SET status = excluded.status, sourceKind = excluded.sourceKind, \
        widgetId = excluded.widgetId, sessionId = excluded.sessionId, trunkId = excluded.trunkId, \
        fromURI = excluded.fromURI, toURI = excluded.toURI, destination = excluded.destination, \
        sipCode = excluded.sipCode, hangupCause = excluded.hangupCause, hangupBy = excluded.hangupBy, \
        context = excluded.context, contextVerified = excluded.contextVerified, userAgent = excluded.userAgent, \
        createdAt = excluded.createdAt, answeredAt = excluded.answeredAt, endedAt = excluded.endedAt, media = excluded.media
        """

    var upsertArguments: StatementArguments {
        [
            id, status, sourceKind, widgetId, sessionId, trunkId, fromURI, toURI, destination, sipCode,
            hangupCause, hangupBy, context, contextVerified, userAgent, StorageDate.text(createdAt),
            answeredAt.map(StorageDate.text), endedAt.map(StorageDate.text), media,
        ]
    }
}

extension EventRow {
    static let insertSQL = """
        INSERT INTO "event" (id, type, createdAt, sequence, subjectId, data) VALUES (?, ?, ?, ?, ?, ?)
        """

    var insertArguments: StatementArguments {
        [id, type, StorageDate.text(createdAt), sequence, subjectId, data]
    }
}

extension DeliveryRow {
    static let insertSQL = """
        INSERT INTO "delivery" (id, webhookId, eventId, eventType, orderKey, status, attempts, nextAttemptAt, createdAt, completedAt) \
        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
        """

    var insertArguments: StatementArguments {
        [
            id, webhookId, eventId, eventType, orderKey, status, attempts, nextAttemptAt.map(StorageDate.text),
            StorageDate.text(createdAt), completedAt.map(StorageDate.text),
        ]
    }
}
