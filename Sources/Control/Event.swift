public import Foundation

/// Something that happened, as webhooks, XML-RPC push and `GET /v1/events` carry it. Events are
/// written in the same transaction as the state change that caused them (a durable outbox).
public struct Event: Sendable, Equatable {
    public var id: String
    public var type: String
    public var createdAt: Date
    /// Position of this event among the events of its subject (the call), from 1.
    public var sequence: Int
    /// The call (or later conference) the event is about; deliveries keep their order per subject.
    public var subjectId: String?
    /// The event's `data`: compact JSON text of an object.
    public var dataJSON: String

    public static let idPrefix = "evt"

    public init(id: String, type: String, createdAt: Date, sequence: Int, subjectId: String?, dataJSON: String) {
        self.id = id
        self.type = type
        self.createdAt = createdAt
        self.sequence = sequence
        self.subjectId = subjectId
        self.dataJSON = dataJSON
    }

    /// The envelope `{id, type, createdAt, sequence, data}` as compact JSON, the body of a webhook.
    public var envelopeJSON: String {
        "{\"id\":\(JSONLiteral.quote(id)),\"type\":\(JSONLiteral.quote(type)),\"createdAt\":\(JSONLiteral.quote(Timestamp.iso8601(createdAt))),\"sequence\":\(sequence),\"data\":\(dataJSON)}"
    }
}

/// The event types of the public contract.
public enum EventType: String, Sendable, CaseIterable {
    case callInitiated = "call.initiated"
    case callRinging = "call.ringing"
    case callAnswered = "call.answered"
    case callCompleted = "call.completed"
    case callFailed = "call.failed"
    case recordingStarted = "recording.started"
    case recordingPaused = "recording.paused"
    case recordingResumed = "recording.resumed"
    case recordingCompleted = "recording.completed"
    case participantJoined = "participant.joined"
    case participantLeft = "participant.left"
    case conferenceStarted = "conference.started"
    case conferenceEnded = "conference.ended"

    /// Whether a subscription's `events` entry (`call.answered`, `call.*` or `*`) covers `type`.
    public static func pattern(_ pattern: String, matches type: String) -> Bool {
        if pattern == "*" { return true }
        if pattern.hasSuffix(".*") { return type.hasPrefix(pattern.dropLast()) }
        return pattern == type
    }

    /// Whether `pattern` names at least one event type.
    public static func isValidPattern(_ pattern: String) -> Bool {
        allCases.contains { Self.pattern(pattern, matches: $0.rawValue) }
    }
}

/// What `GET /v1/events` may filter on.
public struct EventFilter: Sendable, Equatable {
    /// An exact type or a `prefix.*` pattern.
    public var type: String?
    public var subjectId: String?

    public init(type: String? = nil, subjectId: String? = nil) {
        self.type = type
        self.subjectId = subjectId
    }
}

/// Reading the event log.
public final class EventService: Sendable {
    public let storage: any Storage

    public init(storage: any Storage) { self.storage = storage }

    public func list(filter: EventFilter, limit: Int?, after: String?) async throws -> Page<Event> {
        if let type = filter.type, !EventType.isValidPattern(type) {
            throw ControlError.badRequest("type must be an event type or a prefix pattern such as call.*")
        }
        let request = try PageRequest(limit: limit, after: after, idPrefix: Event.idPrefix)
        return request.page(try await storage.events(filter: filter, after: request.after, limit: request.limit + 1), id: \.id)
    }

    public func get(id: String) async throws -> Event {
        guard let event = try await storage.event(id: id) else { throw ControlError.notFound(kind: "event", id: id) }
        return event
    }
}

/// Small JSON and time helpers shared by the event and webhook code.
public enum JSONLiteral {
    /// `text` as a JSON string literal.
    public static func quote(_ text: String) -> String {
        var out = "\""
        out.reserveCapacity(text.utf8.count + 2)
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where scalar.value < 0x20:
                let hex = String(scalar.value, radix: 16)
                out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }
}

public enum Timestamp {
    /// RFC 3339 in UTC (`2026-12-01T22:30:00Z`), as the REST API writes dates.
    public static func iso8601(_ date: Date) -> String {
        // Whole seconds, truncated, as `ISO8601FormatStyle` and `JSONEncoder`'s `.iso8601` write them.
        let seconds = Int64((date.timeIntervalSince1970).rounded(.down))
        return CivilTime(secondsSince1970: seconds).text(separator: UInt8(ascii: "T"), suffix: "Z")
    }
}
