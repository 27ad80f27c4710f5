/// Bounds applied while parsing, so that hostile input costs little memory and time.
///
/// The defaults comfortably fit browser offers with simulcast and many codecs (typically under
/// 16 KiB) and any SIP phone.
public struct SDPParsingLimits: Hashable, Sendable {
    /// The largest accepted input, in bytes.
    public var maximumBytes: Int
    /// The most lines accepted, blank lines included.
    public var maximumLines: Int
    /// The longest accepted line in bytes, without its line ending.
    public var maximumLineLength: Int
    /// The most `m=` sections accepted.
    public var maximumMediaDescriptions: Int

    public init(
        maximumBytes: Int = 64 * 1024,
        maximumLines: Int = 2048,
        maximumLineLength: Int = 4096,
        maximumMediaDescriptions: Int = 64
    ) {
        self.maximumBytes = maximumBytes
        self.maximumLines = maximumLines
        self.maximumLineLength = maximumLineLength
        self.maximumMediaDescriptions = maximumMediaDescriptions
    }

    public static let `default` = SDPParsingLimits()
}
