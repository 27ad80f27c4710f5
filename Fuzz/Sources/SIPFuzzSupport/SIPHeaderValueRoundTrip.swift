public import SIP

/// The typed header values the B2BUA rewrites and writes back through their `description`
/// (`Via`, name-addresses, `CSeq`, `Content-Type`) must parse again to the same value.
public enum SIPHeaderValueRoundTrip {
    /// Checks every typed header value of a message that parsed (the parser validated them, so
    /// the accessors do not throw).
    public static func check(_ message: SIPMessage) {
        do {
            for via in try message.vias {
                check(via, "Via") { text throws(SIPParseError) in try SIPVia(parsing: text) }
            }
            var addresses = [("From", try message.from), ("To", try message.to)]
            addresses += try message.routes.map { ("Route", $0) }
            addresses += try message.recordRoutes.map { ("Record-Route", $0) }
            if case .addresses(let contacts) = try message.contacts {
                addresses += contacts.map { ("Contact", $0) }
            }
            for (name, address) in addresses {
                check(address, name) { text throws(SIPParseError) in try SIPNameAddress(parsing: text) }
            }
            check(try message.cseq, "CSeq") { text throws(SIPParseError) in try SIPCSeq(parsing: text) }
            if let contentType = try message.contentType {
                check(contentType, "Content-Type") { text throws(SIPParseError) in try SIPContentType(parsing: text) }
            }
        } catch {
            propertyFailure("a header field the parser validated does not parse through its accessor: \(error)")
        }
    }

    private static func check<Value: Equatable & CustomStringConvertible>(
        _ value: Value,
        _ header: String,
        _ parse: (String) throws(SIPParseError) -> Value
    ) {
        let text = value.description
        let reparsed: Value
        do {
            reparsed = try parse(text)
        } catch {
            propertyFailure("\(header) value does not parse again: \(error)", "serialized: \(text.debugDescription)")
        }
        guard reparsed == value else {
            propertyFailure(
                "\(header) value differs after a round trip",
                "serialized: \(text.debugDescription)\nbefore: \(String(reflecting: value))\nafter:  \(String(reflecting: reparsed))"
            )
        }
    }
}
