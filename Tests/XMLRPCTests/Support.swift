import Testing
import XMLRPC

/// UTF-8 bytes of a document.
func bytes(_ text: String) -> [UInt8] { Array(text.utf8) }

func text(_ bytes: [UInt8]) -> String { String(decoding: bytes, as: UTF8.self) }

/// A methodCall document with `value` (already XML) as its only param.
func call(withValue value: String, name: String = "x") -> [UInt8] {
    bytes("<?xml version=\"1.0\"?><methodCall><methodName>\(name)</methodName><params><param><value>\(value)</value></param></params></methodCall>")
}

/// The fault decoding `document` as a methodCall throws; nil when it decodes.
func callFault(_ document: [UInt8], limits: XMLRPCLimits = .init()) -> XMLRPCFault? {
    do {
        _ = try XMLRPCDecoder.methodCall(document, limits: limits)
        return nil
    } catch {
        return error
    }
}

/// Encodes `params` as a call, decodes it, and returns the params.
func roundTrip(_ params: [XMLRPCValue], name: String = "widgets.list") throws -> [XMLRPCValue] {
    let encoded = XMLRPCEncoder.methodCall(name, params: params)
    let decoded = try XMLRPCDecoder.methodCall(encoded)
    #expect(decoded.methodName == name)
    return decoded.params
}

/// Encodes `value` as a response and decodes it.
func responseRoundTrip(_ value: XMLRPCValue) throws -> XMLRPCValue {
    try XMLRPCDecoder.methodResponse(XMLRPCEncoder.response(value))
}
