import Foundation

/// Calendar fields of an instant in UTC without a formatter (proleptic Gregorian calendar;
/// H. Hinnant's days-to-civil algorithm). Event payloads and store rows format several dates
/// per call, and Foundation's formatters go through ICU.
public struct CivilTime: Sendable, Equatable {
    public var year: Int64
    public var month: Int64
    public var day: Int64
    public var hour: Int64
    public var minute: Int64
    public var second: Int64

    /// The fields of `seconds` since 1970-01-01T00:00:00Z.
    public init(secondsSince1970 seconds: Int64) {
        let (days, secondOfDay) = Self.floorDivision(seconds, 86_400)
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let dayOfEra = z - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let mp = (5 * dayOfYear + 2) / 153
        day = dayOfYear - (153 * mp + 2) / 5 + 1
        month = mp < 10 ? mp + 3 : mp - 9
        year = yearOfEra + era * 400 + (month <= 2 ? 1 : 0)
        hour = secondOfDay / 3600
        minute = secondOfDay / 60 % 60
        second = secondOfDay % 60
    }

    static func floorDivision(_ a: Int64, _ b: Int64) -> (Int64, Int64) {
        let (q, r) = a.quotientAndRemainder(dividingBy: b)
        return r < 0 ? (q - 1, r + b) : (q, r)
    }

    /// `yyyy-MM-dd<separator>HH:mm:ss` (years 0–9999).
    public func text(separator: UInt8, fraction millis: Int64? = nil, suffix: String = "") -> String {
        var bytes = [UInt8](repeating: 0, count: millis == nil ? 19 : 23)
        func put(_ value: Int64, _ width: Int, at offset: Int) {
            var value = value
            for i in stride(from: offset + width - 1, through: offset, by: -1) {
                bytes[i] = UInt8(ascii: "0") + UInt8(truncatingIfNeeded: value % 10)
                value /= 10
            }
        }
        put(year, 4, at: 0); bytes[4] = UInt8(ascii: "-")
        put(month, 2, at: 5); bytes[7] = UInt8(ascii: "-")
        put(day, 2, at: 8); bytes[10] = separator
        put(hour, 2, at: 11); bytes[13] = UInt8(ascii: ":")
        put(minute, 2, at: 14); bytes[16] = UInt8(ascii: ":")
        put(second, 2, at: 17)
        if let millis {
            bytes[19] = UInt8(ascii: ".")
            put(millis, 3, at: 20)
        }
        return String(decoding: bytes, as: UTF8.self) + suffix
    }
}
