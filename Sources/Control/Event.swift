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
        // Works on the UTF-8 bytes: only ASCII needs escaping, and most values need none.
        let utf8 = text.utf8
        guard utf8.contains(where: { $0 < 0x20 || $0 == UInt8(ascii: "\"") || $0 == UInt8(ascii: "\\") }) else {
            return "\"" + text + "\""
        }
        var out: [UInt8] = []
        out.reserveCapacity(utf8.count + 16)
        out.append(UInt8(ascii: "\""))
        for byte in utf8 {
            switch byte {
            case UInt8(ascii: "\""): out += [UInt8(ascii: "\\"), UInt8(ascii: "\"")]
            case UInt8(ascii: "\\"): out += [UInt8(ascii: "\\"), UInt8(ascii: "\\")]
            case UInt8(ascii: "\n"): out += [UInt8(ascii: "\\"), UInt8(ascii: "n")]
            case UInt8(ascii: "\r"): out += [UInt8(ascii: "\\"), UInt8(ascii: "r")]
            case UInt8(ascii: "\t"): out += [UInt8(ascii: "\\"), UInt8(ascii: "t")]
            case 0..<0x20:
                out += [UInt8(ascii: "\\"), UInt8(ascii: "u"), UInt8(ascii: "0"), UInt8(ascii: "0"), hexDigit(byte >> 4), hexDigit(byte & 0x0F)]
            default: out.append(byte)
            }
        }
        out.append(UInt8(ascii: "\""))
        return String(decoding: out, as: UTF8.self)
    }

    private static func hexDigit(_ value: UInt8) -> UInt8 {
        value < 10 ? UInt8(ascii: "0") + value : UInt8(ascii: "a") + value - 10
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
