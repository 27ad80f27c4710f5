/// An XML-RPC `<dateTime.iso8601>`: an instant in UTC, to the second.
///
/// Parsing accepts `19980717T14:08:55` (what Python's `xmlrpc.client` sends) and
/// `1998-07-17T14:08:55`, the time also without colons (`T140855`), an optional fraction of a
/// second (dropped), and an optional `Z` or `+hh:mm` / `-hh:mm` / `+hhmm` / `+hh` offset.
/// Without an offset the time is taken as UTC. The instant must fall in the years 0000-9999.
/// Serialising gives `YYYYMMDDTHH:MM:SS` in UTC; for an instant outside the years 0000-9999
/// the year is written with a sign and more digits, which the parser does not accept.
public struct XMLRPCDateTime: Sendable, Equatable, Hashable, Comparable, CustomStringConvertible {
    public var secondsSince1970: Int64

    public init(secondsSince1970: Int64) {
        self.secondsSince1970 = secondsSince1970
    }

    /// The instant of a UTC calendar date and time; nil when a field is out of range.
    public init?(year: Int, month: Int, day: Int, hour: Int = 0, minute: Int = 0, second: Int = 0) {
        guard (1...12).contains(month), (1...Self.daysIn(month: month, year: Int64(year))).contains(day),
              (0...23).contains(hour), (0...59).contains(minute), (0...59).contains(second),
              (-1_000_000_000...1_000_000_000).contains(year)
        else { return nil }
        let days = Self.daysFromCivil(year: Int64(year), month: Int64(month), day: Int64(day))
        self.secondsSince1970 = days * 86_400 + Int64(hour * 3600 + minute * 60 + second)
    }

    /// Parses the text of a `<dateTime.iso8601>` (surrounding whitespace allowed).
    public init?(iso8601 text: String) {
        guard let seconds = Self.parse(Array(text.utf8)) else { return nil }
        self.secondsSince1970 = seconds
    }

    /// `YYYYMMDDTHH:MM:SS`, UTC.
    public var iso8601: String { String(decoding: iso8601Bytes, as: UTF8.self) }

    public var description: String { iso8601 }

    public static func < (lhs: XMLRPCDateTime, rhs: XMLRPCDateTime) -> Bool { lhs.secondsSince1970 < rhs.secondsSince1970 }

    /// Calendar fields in UTC.
    public var components: (year: Int64, month: Int, day: Int, hour: Int, minute: Int, second: Int) {
        let (days, remainder) = Self.floorDivide(secondsSince1970, 86_400)
        let (year, month, day) = Self.civilFromDays(days)
        let seconds = Int(remainder)
        return (year, Int(month), Int(day), seconds / 3600, seconds / 60 % 60, seconds % 60)
    }

    var iso8601Bytes: [UInt8] {
        let fields = components
        var out: [UInt8] = []
        out.reserveCapacity(17)
        if (0...9999).contains(fields.year) {
            appendDigits(&out, fields.year, width: 4)
        } else {
            out.append(fields.year < 0 ? UInt8(ascii: "-") : UInt8(ascii: "+"))
            appendDigits(&out, fields.year.magnitude, width: 4)
        }
        appendDigits(&out, UInt64(fields.month), width: 2)
        appendDigits(&out, UInt64(fields.day), width: 2)
        out.append(UInt8(ascii: "T"))
        appendDigits(&out, UInt64(fields.hour), width: 2)
        out.append(UInt8(ascii: ":"))
        appendDigits(&out, UInt64(fields.minute), width: 2)
        out.append(UInt8(ascii: ":"))
        appendDigits(&out, UInt64(fields.second), width: 2)
        return out
    }

    // MARK: - Parsing

    static func parse(_ text: [UInt8]) -> Int64? {
        var start = 0
        var end = text.count
        while start < end, isXMLSpace(text[start]) { start += 1 }
        while end > start, isXMLSpace(text[end - 1]) { end -= 1 }
        var index = start

        func digits(_ count: Int) -> Int? {
            guard end - index >= count else { return nil }
            var value = 0
            for _ in 0..<count {
                let byte = text[index]
                guard byte >= 0x30, byte <= 0x39 else { return nil }
                value = value * 10 + Int(byte - 0x30)
                index += 1
            }
            return value
        }
        func skip(_ byte: UInt8) -> Bool {
            if index < end, text[index] == byte { index += 1; return true }
            return false
        }

        guard let year = digits(4) else { return nil }
        let dashed = skip(UInt8(ascii: "-"))
        guard let month = digits(2) else { return nil }
        if dashed { guard skip(UInt8(ascii: "-")) else { return nil } }
        guard let day = digits(2), skip(UInt8(ascii: "T")), let hour = digits(2) else { return nil }
        let coloned = skip(UInt8(ascii: ":"))
        guard let minute = digits(2) else { return nil }
        if coloned { guard skip(UInt8(ascii: ":")) else { return nil } }
        guard let second = digits(2) else { return nil }
        if skip(UInt8(ascii: ".")) || skip(UInt8(ascii: ",")) {
            let fractionStart = index
            while index < end, text[index] >= 0x30, text[index] <= 0x39 { index += 1 }
            guard index > fractionStart else { return nil }
        }
        var offset = 0
        if skip(UInt8(ascii: "Z")) {
        } else if index < end, text[index] == UInt8(ascii: "+") || text[index] == UInt8(ascii: "-") {
            let negative = text[index] == UInt8(ascii: "-")
            index += 1
            guard let offsetHours = digits(2), offsetHours <= 23 else { return nil }
            var offsetMinutes = 0
            if index < end {
                _ = skip(UInt8(ascii: ":"))
                guard let minutes = digits(2), minutes <= 59 else { return nil }
                offsetMinutes = minutes
            }
            offset = (offsetHours * 3600 + offsetMinutes * 60) * (negative ? -1 : 1)
        }
        guard index == end else { return nil }
        guard (1...12).contains(month), (1...daysIn(month: month, year: Int64(year))).contains(day),
              hour <= 23, minute <= 59, second <= 59
        else { return nil }
        let days = daysFromCivil(year: Int64(year), month: Int64(month), day: Int64(day))
        let seconds = days * 86_400 + Int64(hour * 3600 + minute * 60 + second - offset)
        // Only instants that serialise back into four-digit years.
        guard seconds >= minimumSeconds, seconds <= maximumSeconds else { return nil }
        return seconds
    }

    /// 0000-01-01T00:00:00Z and 9999-12-31T23:59:59Z.
    static let minimumSeconds = daysFromCivil(year: 0, month: 1, day: 1) * 86_400
    static let maximumSeconds = daysFromCivil(year: 9999, month: 12, day: 31) * 86_400 + 86_399

    // MARK: - Calendar (proleptic Gregorian; H. Hinnant's days_from_civil / civil_from_days)

    static func isLeap(_ year: Int64) -> Bool { year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) }

    static func daysIn(month: Int, year: Int64) -> Int {
        switch month {
        case 2: isLeap(year) ? 29 : 28
        case 4, 6, 9, 11: 30
        default: 31
        }
    }

    static func floorDivide(_ value: Int64, _ divisor: Int64) -> (Int64, Int64) {
        var quotient = value / divisor
        var remainder = value % divisor
        if remainder < 0 { quotient -= 1; remainder += divisor }
        return (quotient, remainder)
    }

    static func daysFromCivil(year: Int64, month: Int64, day: Int64) -> Int64 {
        let y = month <= 2 ? year - 1 : year
        let era = floorDivide(y, 400).0
        let yearOfEra = y - era * 400
        let shiftedMonth = month > 2 ? month - 3 : month + 9
        let dayOfYear = (153 * shiftedMonth + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return era * 146_097 + dayOfEra - 719_468
    }

    static func civilFromDays(_ days: Int64) -> (year: Int64, month: Int64, day: Int64) {
        let shifted = days + 719_468
        let era = floorDivide(shifted, 146_097).0
        let dayOfEra = shifted - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let shiftedMonth = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * shiftedMonth + 2) / 5 + 1
        let month = shiftedMonth < 10 ? shiftedMonth + 3 : shiftedMonth - 9
        return (yearOfEra + era * 400 + (month <= 2 ? 1 : 0), month, day)
    }
}

func appendDigits(_ out: inout [UInt8], _ value: some BinaryInteger, width: Int) {
    var digits: [UInt8] = []
    var rest = value.magnitude
    repeat {
        digits.append(UInt8(ascii: "0") + UInt8(rest % 10))
        rest /= 10
    } while rest > 0
    if digits.count < width { out.append(contentsOf: repeatElement(UInt8(ascii: "0"), count: width - digits.count)) }
    out.append(contentsOf: digits.reversed())
}

/// XML's white space: space, tab, LF, CR.
@inline(__always)
func isXMLSpace(_ byte: UInt8) -> Bool { byte == 0x20 || byte == 0x09 || byte == 0x0A || byte == 0x0D }
