/// # SIP
///
/// The SIP message layer of Switchboard: RFC 3261 messages as values, without I/O.
///
/// This module owns
/// - ``SIPURI`` and ``SIPAnyURI`` (RFC 3261 §19.1, §25.1 grammar),
/// - ``SIPMessage`` with its ordered, case-insensitive ``SIPHeaders`` (compact forms, line
///   folding, comma-separated lists) and the typed header values the B2BUA needs
///   (``SIPVia``, ``SIPNameAddress``, ``SIPCSeq``, ``SIPContentType``, ...),
/// - parsing from datagrams (`SIPMessage.parse(datagram:)`) and the canonical serializer
///   (`SIPMessage.serialize(into:)`),
/// - the stream framer for TCP and TLS (``SIPStreamFramer``), including RFC 5626 keep-alives,
/// - multipart body splitting (``SIPMultipart``),
/// - the mapping from parse failures to the response a transport sends (``SIPParseError``).
///
/// Everything here is a pure function of its input: no sockets, no clocks, no logging.
/// Hostile input is rejected with a typed ``SIPParseError``; nothing traps on input.
///
/// The module imports only `NIOCore` (for `ByteBuffer` and `ByteToMessageDecoder`); it knows
/// nothing of HTTP, storage or the call domain. Transactions, dialogs and SDP build on it.
public enum SIPProtocol {
    /// The only protocol version this implementation speaks.
    public static let version = "SIP/2.0"

    /// The RFC 3261 branch magic cookie.
    public static let branchMagicCookie = "z9hG4bK"
}
