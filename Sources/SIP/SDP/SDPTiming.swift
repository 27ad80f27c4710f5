/// A `t=` line with the `r=` lines that follow it (RFC 8866 §5.9, §5.10).
///
/// Conversational sessions use `t=0 0`: unbounded, permanent.
public struct SDPTiming: Hashable, Sendable {
    /// NTP start time in seconds, or 0.
    public var start: UInt64
    /// NTP stop time in seconds, or 0 for unbounded.
    public var stop: UInt64
    public var repeats: [SDPRepeatTime]

    public init(start: UInt64 = 0, stop: UInt64 = 0, repeats: [SDPRepeatTime] = []) {
        self.start = start
        self.stop = stop
        self.repeats = repeats
    }

    /// `t=0 0`.
    public static let permanent = SDPTiming()

    init(parsing value: Substring) throws(SDPParseError) {
        let fields = SDPGrammar.fields(value)
        guard fields.count == 2,
            let start = SDPGrammar.decimal(fields[0], as: UInt64.self),
            let stop = SDPGrammar.decimal(fields[1], as: UInt64.self)
        else {
            throw SDPParseError(.invalidTiming)
        }
        self.start = start
        self.stop = stop
        self.repeats = []
    }

    var fieldValue: String { "\(start) \(stop)" }
}

/// An `r=` line: repeat interval, active duration and offsets from the start time.
public struct SDPRepeatTime: Hashable, Sendable {
    public var interval: SDPTypedTime
    public var activeDuration: SDPTypedTime
    public var offsets: [SDPTypedTime]

    public init(interval: SDPTypedTime, activeDuration: SDPTypedTime, offsets: [SDPTypedTime]) {
        self.interval = interval
        self.activeDuration = activeDuration
        self.offsets = offsets
    }

    init(parsing value: Substring) throws(SDPParseError) {
        let fields = SDPGrammar.fields(value)
        guard fields.count >= 3 else { throw SDPParseError(.invalidRepeatTime) }
        var times: [SDPTypedTime] = []
        times.reserveCapacity(fields.count)
        for field in fields {
            guard let time = SDPTypedTime(parsing: field, allowingSign: false) else {
                throw SDPParseError(.invalidRepeatTime)
            }
            times.append(time)
        }
        self.interval = times[0]
        self.activeDuration = times[1]
        self.offsets = Array(times[2...])
    }

    var fieldValue: String {
        ([interval, activeDuration] + offsets).map(\.fieldValue).joined(separator: " ")
    }
}

/// One `z=` adjustment: from `time` (NTP seconds) on, add `offset` to the base times.
public struct SDPTimeZoneAdjustment: Hashable, Sendable {
    public var time: UInt64
    public var offset: SDPTypedTime

    public init(time: UInt64, offset: SDPTypedTime) {
        self.time = time
        self.offset = offset
    }

    static func parseList(_ value: Substring) throws(SDPParseError) -> [SDPTimeZoneAdjustment] {
        let fields = SDPGrammar.fields(value)
        guard !fields.isEmpty, fields.count % 2 == 0 else { throw SDPParseError(.invalidTimeZones) }
        var result: [SDPTimeZoneAdjustment] = []
        result.reserveCapacity(fields.count / 2)
        var index = 0
        while index < fields.count {
            guard let time = SDPGrammar.decimal(fields[index], as: UInt64.self),
                let offset = SDPTypedTime(parsing: fields[index + 1], allowingSign: true)
            else {
                throw SDPParseError(.invalidTimeZones)
            }
            result.append(SDPTimeZoneAdjustment(time: time, offset: offset))
            index += 2
        }
        return result
    }
}

/// A time in `r=` and `z=` lines: a number with an optional unit (`7d`, `1h`, `25`, `-1h`).
/// The unit is kept so the line serializes as written.
public struct SDPTypedTime: Hashable, Sendable {
    public enum Unit: Character, Hashable, Sendable {
        case days = "d"
        case hours = "h"
        case minutes = "m"
        case seconds = "s"

        var seconds: Int64 {
            switch self {
            case .days: 86_400
            case .hours: 3_600
            case .minutes: 60
            case .seconds: 1
            }
        }
    }

    public var value: Int64
    /// nil when the number was written without a unit (meaning seconds).
    public var unit: Unit?

    public init(value: Int64, unit: Unit? = nil) {
        self.value = value
        self.unit = unit
    }

    /// The time in seconds, saturating instead of overflowing.
    public var seconds: Int64 {
        let (result, overflow) = value.multipliedReportingOverflow(by: unit?.seconds ?? 1)
        if overflow {
            return value < 0 ? .min : .max
        }
        return result
    }

    init?(parsing text: Substring, allowingSign: Bool) {
        var digits = text
        var negative = false
        if allowingSign, digits.first == "-" {
            negative = true
            digits = digits.dropFirst()
        }
        if let last = digits.last, let unit = Unit(rawValue: last) {
            self.unit = unit
            digits = digits.dropLast()
        } else {
            self.unit = nil
        }
        guard let magnitude = SDPGrammar.decimal(digits, as: UInt32.self) else { return nil }
        self.value = negative ? -Int64(magnitude) : Int64(magnitude)
    }

    var fieldValue: String {
        if let unit {
            return "\(value)\(unit.rawValue)"
        }
        return "\(value)"
    }
}
