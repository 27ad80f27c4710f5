/// A 64-bit NTP timestamp (RFC 5905): seconds since 1900-01-01 and a 32-bit binary fraction.
public struct NTPTimestamp: Equatable, Hashable, Comparable, Sendable {
    /// Seconds between 1900-01-01 (NTP epoch) and 1970-01-01 (Unix epoch).
    public static let unixEpochOffset: UInt64 = 2_208_988_800

    /// Whole seconds since 1900.
    public var seconds: UInt32
    /// The fraction of a second, in units of 2⁻³² s.
    public var fraction: UInt32

    /// A timestamp with the given parts.
    @inlinable
    public init(seconds: UInt32, fraction: UInt32) {
        self.seconds = seconds
        self.fraction = fraction
    }

    /// The timestamp as one 64-bit number.
    @inlinable
    public init(rawValue: UInt64) {
        self.seconds = UInt32(truncatingIfNeeded: rawValue >> 32)
        self.fraction = UInt32(truncatingIfNeeded: rawValue)
    }

    /// The timestamp of a Unix time in nanoseconds (wraps in 2036 like NTP era 0 does).
    @inlinable
    public init(unixNanoseconds: Int64) {
        let nanoseconds = UInt64(max(unixNanoseconds, 0))
        let seconds = nanoseconds / 1_000_000_000
        let remainder = nanoseconds % 1_000_000_000
        self.seconds = UInt32(truncatingIfNeeded: seconds &+ NTPTimestamp.unixEpochOffset)
        self.fraction = UInt32(truncatingIfNeeded: (remainder << 32) / 1_000_000_000)
    }

    /// The timestamp as one 64-bit number.
    @inlinable
    public var rawValue: UInt64 { UInt64(seconds) << 32 | UInt64(fraction) }

    /// The middle 32 bits (16 bits of seconds, 16 of fraction), the form used in an SR's LSR and
    /// in RTT computation (RFC 3550 §6.4.1).
    @inlinable
    public var compact: UInt32 { UInt32(truncatingIfNeeded: rawValue >> 16) }

    /// The Unix time in nanoseconds (era 0, before 2036).
    @inlinable
    public var unixNanoseconds: Int64 {
        let unixSeconds = Int64(seconds) - Int64(NTPTimestamp.unixEpochOffset)
        let nanoseconds = (UInt64(fraction) * 1_000_000_000) >> 32
        return unixSeconds * 1_000_000_000 + Int64(nanoseconds)
    }

    /// Orders by the 64-bit value.
    @inlinable
    public static func < (lhs: NTPTimestamp, rhs: NTPTimestamp) -> Bool { lhs.rawValue < rhs.rawValue }
}

/// Durations in the compact NTP form (units of 1/65536 s) used by DLSR and round-trip times.
public enum CompactNTPDuration {
    /// Nanoseconds as 1/65536 s units, saturating at `UInt32.max`.
    @inlinable
    public static func units(nanoseconds: Int64) -> UInt32 {
        guard nanoseconds > 0 else { return 0 }
        let value = UInt64(nanoseconds)
        let seconds = value / 1_000_000_000
        guard seconds < 0x1_0000 else { return UInt32.max }
        let units = seconds << 16 + ((value % 1_000_000_000) << 16) / 1_000_000_000
        return UInt32(min(units, UInt64(UInt32.max)))
    }

    /// 1/65536 s units as nanoseconds.
    @inlinable
    public static func nanoseconds(units: UInt32) -> Int64 {
        Int64((UInt64(units) * 1_000_000_000) >> 16)
    }
}
