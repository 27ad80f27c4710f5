import SIPFuzzSupport
import XMLRPC

/// The limits for decoding what the encoder wrote: the input passed the real limits, and its
/// canonical form may be larger (an untyped value gains `<string>`, a double in exponent
/// notation is written out in full), so only the depth stays bounded.
private let reencodedLimits: XMLRPCLimits = {
    var limits = XMLRPCLimits()
    limits.maxDocumentBytes = Int(Int32.max)
    limits.maxElements = .max
    limits.maxStringBytes = .max
    return limits
}()

/// libFuzzer entry point for `XMLRPCDecoder` and `XMLRPCEncoder`.
///
/// Properties: decoding the input as a methodCall and as a methodResponse never traps; a call
/// that decodes encodes to a document that decodes to an equal call, and encoding that again
/// gives the same bytes; a response value likewise; a fault thrown by either decoder, written
/// with `XMLRPCEncoder.fault`, decodes to the same fault; the input as dateTime text, when it
/// parses, serialises to text that parses to the same instant.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))

    do {
        let call = try XMLRPCDecoder.methodCall(bytes)
        checkCall(call)
    } catch {
        checkFault(error, origin: "methodCall fault")
    }

    do {
        let value = try XMLRPCDecoder.methodResponse(bytes)
        checkResponse(value)
    } catch {
        checkFault(error, origin: "methodResponse fault")
    }

    if size <= 64, let dateTime = XMLRPCDateTime(iso8601: String(decoding: bytes, as: UTF8.self)) {
        guard XMLRPCDateTime(iso8601: dateTime.iso8601) == dateTime else {
            propertyFailure("dateTime \(dateTime.secondsSince1970) does not round-trip", "serialised: \(dateTime.iso8601)")
        }
    }
    return 0
}

private func checkCall(_ call: XMLRPCMethodCall) {
    let encoded = XMLRPCEncoder.methodCall(call.methodName, params: call.params)
    let again: XMLRPCMethodCall
    do {
        again = try XMLRPCDecoder.methodCall(encoded, limits: reencodedLimits)
    } catch {
        propertyFailure("an encoded methodCall does not decode: \(error)", "encoded: \(quoted(encoded))")
    }
    guard again == call else {
        propertyFailure("a re-decoded methodCall differs: \(String(reflecting: call)) vs \(String(reflecting: again))", "encoded: \(quoted(encoded))")
    }
    let reencoded = XMLRPCEncoder.methodCall(again.methodName, params: again.params)
    guard reencoded == encoded else {
        propertyFailure("methodCall encoding is not a fixed point", "first:  \(quoted(encoded))\nsecond: \(quoted(reencoded))")
    }
}

private func checkResponse(_ value: XMLRPCValue) {
    let encoded = XMLRPCEncoder.response(value)
    let again: XMLRPCValue
    do {
        again = try XMLRPCDecoder.methodResponse(encoded, limits: reencodedLimits)
    } catch {
        propertyFailure("an encoded response does not decode: \(error)", "encoded: \(quoted(encoded))")
    }
    guard again == value else {
        propertyFailure("a re-decoded response differs: \(String(reflecting: value)) vs \(String(reflecting: again))", "encoded: \(quoted(encoded))")
    }
}

private func checkFault(_ fault: XMLRPCFault, origin: String) {
    let encoded = XMLRPCEncoder.fault(fault)
    do {
        let value = try XMLRPCDecoder.methodResponse(encoded, limits: reencodedLimits)
        propertyFailure("an encoded \(origin) decodes as a value: \(value)", "encoded: \(quoted(encoded))")
    } catch {
        guard error == fault else {
            propertyFailure("an encoded \(origin) decodes to a different fault: \(fault) vs \(error)", "encoded: \(quoted(encoded))")
        }
    }
}
