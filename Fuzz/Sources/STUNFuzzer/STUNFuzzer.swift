import NIOCore
import SIPFuzzSupport
import WebRTC

/// The agent's credentials; the seed corpus signs its checks with them.
private let gateway = try! ICECredentials(usernameFragment: "gw01", password: "gatewaypasswordof22chr")
private let browser = try! ICECredentials(usernameFragment: "br0wser+", password: "browser/password/24chrs")
private let gatewayKey = STUNIntegrityKey.shortTerm(password: gateway.password)
private let source = try! SocketAddress(ipAddress: "192.0.2.10", port: 50_000)
private let start = NIODeadline.uptimeNanoseconds(1_000_000_000)

/// libFuzzer entry point for `STUNMessage(parsing:)`, `STUNMessageWriter` and `ICELiteAgent`.
///
/// Properties: classifying, parsing, verifying and answering never trap; a message that parses
/// re-encodes (attribute values copied) to bytes that parse to an equal message, and encoding
/// that again gives the same bytes; its attributes re-signed with MESSAGE-INTEGRITY and
/// FINGERPRINT verify; every answer of the agent parses, carries a valid FINGERPRINT, and a
/// success answer maps the source address; an authenticated binding request without
/// ICE-CONTROLLED or unknown comprehension-required attributes is a valid check.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = UnsafeRawBufferPointer(start: data, count: size)
    _ = DatagramKind(classifying: bytes)

    var agent = ICELiteAgent(local: gateway, remote: browser, now: start)
    checkAnswer(agent.receive(bytes, from: source, now: start + .milliseconds(1)), origin: "input")

    let message: STUNMessage
    do {
        message = try STUNMessage(parsing: bytes)
    } catch {
        _ = agent.tick(now: start + .seconds(11))
        return 0
    }
    exerciseAccessors(message, bytes)
    checkRoundTrip(message, bytes)

    // The same attributes, signed as a check from the browser, go through the agent's
    // authenticated paths.
    guard let signed = resigned(message, bytes, username: "gw01:br0wser+", key: gatewayKey) else { return 0 }
    let action = signed.withUnsafeBytes { agent.receive($0, from: source, now: start + .seconds(1)) }
    checkAnswer(action, origin: "re-signed input")
    if message.type == .bindingRequest, message.iceControlled == nil, message.unknownComprehensionRequiredCount == 0,
       action.outcome != .valid {
        propertyFailure("an authenticated binding request was not a valid check: \(action.outcome)", "signed: \(quoted(signed))")
    }
    if action.outcome == .valid, message.useCandidate, agent.selectedAddress != source {
        propertyFailure("USE-CANDIDATE on a valid check did not select the source", "signed: \(quoted(signed))")
    }
    _ = agent.tick(now: start + .seconds(40))
    return 0
}

private func exerciseAccessors(_ message: STUNMessage, _ bytes: UnsafeRawBufferPointer) {
    _ = message.verifyMessageIntegrity(in: bytes, key: gatewayKey)
    _ = message.verifyMessageIntegritySHA256(in: bytes, key: gatewayKey)
    _ = message.verifyFingerprint(in: bytes)
    _ = message.unknownComprehensionRequiredAttributes
    _ = message.xorMappedAddress.map { try? $0.socketAddress() }
    _ = message.xorMappedAddress?.description
    for range in [message.usernameRange, message.softwareRange, message.errorCode?.reasonRange].compactMap({ $0 }) {
        _ = STUNMessage.text(range, in: bytes)
    }
}

/// Copies every attribute value into a new message of the same type and transaction id.
private func reencoded(_ message: STUNMessage, _ bytes: UnsafeRawBufferPointer) -> [UInt8] {
    do {
        return try STUNMessageWriter.encode(type: message.type, transactionID: message.transactionID, capacity: bytes.count) { writer throws(STUNEncodeError) in
            for attribute in message.attributes {
                try writer.append(attribute.type, value: UnsafeRawBufferPointer(rebasing: bytes[attribute.valueRange]))
            }
        }
    } catch {
        propertyFailure("a parsed message does not re-encode into its own size: \(error)", "input: \(quoted(bytes))")
    }
}

private func checkRoundTrip(_ message: STUNMessage, _ bytes: UnsafeRawBufferPointer) {
    let first = reencoded(message, bytes)
    guard first.count == bytes.count else {
        propertyFailure("re-encoded size \(first.count) differs from \(bytes.count)", "input: \(quoted(bytes))")
    }
    let reparsed: STUNMessage
    do {
        reparsed = try STUNMessage(parsing: first)
    } catch {
        propertyFailure("re-encoded message does not parse: \(error)", "encoded: \(quoted(first))")
    }
    guard reparsed == message else {
        propertyFailure("re-parsed message differs", "input: \(quoted(bytes))\nencoded: \(quoted(first))")
    }
    let second = first.withUnsafeBytes { reencoded(reparsed, $0) }
    guard second == first else {
        propertyFailure("re-encoding is not a fixed point", "first:  \(quoted(first))\nsecond: \(quoted(second))")
    }
}

/// The attributes before the first integrity or fingerprint attribute, with USERNAME replaced,
/// then MESSAGE-INTEGRITY and FINGERPRINT under `key`. Nil when that no longer fits a message.
private func resigned(_ message: STUNMessage, _ bytes: UnsafeRawBufferPointer, username: String, key: STUNIntegrityKey) -> [UInt8]? {
    let signed: [UInt8]
    do {
        signed = try STUNMessageWriter.encode(type: message.type, transactionID: message.transactionID, capacity: bytes.count + 64) { writer throws(STUNEncodeError) in
            try writer.append(.username, text: username)
            for attribute in message.attributes {
                if attribute.type == .messageIntegrity || attribute.type == .messageIntegritySHA256 || attribute.type == .fingerprint { break }
                if attribute.type == .username { continue }
                try writer.append(attribute.type, value: UnsafeRawBufferPointer(rebasing: bytes[attribute.valueRange]))
            }
            try writer.appendMessageIntegrity(key: key)
            try writer.appendFingerprint()
        }
    } catch .valueTooLong {
        return nil
    } catch {
        propertyFailure("re-signing failed: \(error)", "input: \(quoted(bytes))")
    }
    let parsed: STUNMessage
    do {
        parsed = try STUNMessage(parsing: signed)
    } catch {
        propertyFailure("re-signed message does not parse: \(error)", "signed: \(quoted(signed))")
    }
    guard parsed.verifyMessageIntegrity(in: signed, key: key), parsed.verifyFingerprint(in: signed) else {
        propertyFailure("re-signed message does not verify", "signed: \(quoted(signed))")
    }
    return signed
}

/// An answer of the agent parses, has a valid FINGERPRINT, and a success maps the source.
private func checkAnswer(_ action: ICEAction, origin: String) {
    guard let response = action.response else { return }
    let bytes = response.bytes
    let message: STUNMessage
    do {
        message = try STUNMessage(parsing: bytes)
    } catch {
        propertyFailure("answer to \(origin) does not parse: \(error)", "answer: \(quoted(bytes))")
    }
    guard message.verifyFingerprint(in: bytes) else {
        propertyFailure("answer to \(origin) has a bad FINGERPRINT", "answer: \(quoted(bytes))")
    }
    if message.type == .bindingSuccess {
        guard action.outcome == .valid, message.verifyMessageIntegrity(in: bytes, key: gatewayKey),
              message.xorMappedAddress == STUNTransportAddress(source) else {
            propertyFailure("success answer to \(origin) is not signed or does not map the source", "answer: \(quoted(bytes))")
        }
    }
}
