import SIP
import SIPFuzzSupport

/// libFuzzer entry point for `SDPSessionDescription(parsing:)`.
///
/// Properties: parsing never traps; a description that parses serializes to text that parses
/// again to an equal description, with the same serialization; every typed attribute value
/// round-trips through its own serializer; the derived views (payload formats, direction)
/// do not trap.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = UnsafeBufferPointer(start: data, count: size)
    let description: SDPSessionDescription
    do {
        description = try SDPSessionDescription(parsing: bytes)
    } catch {
        return 0
    }
    SDPRoundTrip.check(description)
    SDPTypedValueRoundTrip.check(description.attributes, origin: "the session level")
    for (index, media) in description.media.enumerated() {
        SDPTypedValueRoundTrip.check(media.attributes, origin: "media description \(index)")
        _ = media.payloadFormats
        _ = media.effectiveDirection(in: description)
    }
    return 0
}
