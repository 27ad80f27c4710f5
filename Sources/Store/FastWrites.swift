import Foundation
import GRDB

/// Dates as GRDB stores them ("yyyy-MM-dd HH:mm:ss.SSS", UTC; what `Date.databaseValue` writes),
/// without a `DateFormatter`: the call log writes several per call, and ICU's formatter was a
/// visible share of the writer's time at high call rates.
enum StorageDate {
    static func text(_ date: Date) -> String {
        // To the nearest millisecond, as the formatter does.
        let millis = Int64((date.timeIntervalSince1970 * 1000).rounded())
        let (days, millisOfDay) = floorDivision(millis, 86_400_000)
        // Days since 1970-01-01 to a civil date (H. Hinnant's algorithm, proleptic Gregorian).
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let dayOfEra = z - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let mp = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        let year = yearOfEra + era * 400 + (month <= 2 ? 1 : 0)
        let seconds = millisOfDay / 1000
        var bytes = [UInt8](repeating: 0, count: 23)
        func put(_ value: Int64, _ width: Int, at offset: Int) {
            var value = value
            for i in stride(from: offset + width - 1, through: offset, by: -1) {
                bytes[i] = UInt8(ascii: "0") + UInt8(value % 10)
                value /= 10
            }
        }
        put(year, 4, at: 0); bytes[4] = UInt8(ascii: "-")
        put(month, 2, at: 5); bytes[7] = UInt8(ascii: "-")
        put(day, 2, at: 8); bytes[10] = UInt8(ascii: " ")
        put(seconds / 3600, 2, at: 11); bytes[13] = UInt8(ascii: ":")
        put(seconds / 60 % 60, 2, at: 14); bytes[16] = UInt8(ascii: ":")
        put(seconds % 60, 2, at: 17); bytes[19] = UInt8(ascii: ".")
        put(millisOfDay % 1000, 3, at: 20)
        return String(decoding: bytes, as: UTF8.self)
    }

    private static func floorDivision(_ a: Int64, _ b: Int64) -> (Int64, Int64) {
        let (q, r) = a.quotientAndRemainder(dividingBy: b)
        return r < 0 ? (q - 1, r + b) : (q, r)
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
