import SIP

/// Where a widget's calls go: a SIP URI (`sip:`/`sips:`) or the id of a trunk (`trk_…`).
public enum Destination {
    public static let trunkPrefix = "trk"

    /// `nil` when `text` is a usable destination, else what is wrong with it.
    public static func problem(_ text: String) -> String? {
        if text.hasPrefix(trunkPrefix + "_") {
            return Identifier.isValid(text, prefix: trunkPrefix) ? nil : "\(text) is not a trunk id"
        }
        guard text.hasPrefix("sip:") || text.hasPrefix("sips:") else {
            return "must be a SIP URI (sip: or sips:) or a trunk id (trk_…)"
        }
        return sipURIProblem(text)
    }

    static func sipURIProblem(_ text: String) -> String? {
        guard text.utf8.count <= 512 else { return "is longer than 512 bytes" }
        do {
            let uri = try SIPURI(text)
            if uri.port == 0 { return "\(text) has an invalid port" }
            return nil
        } catch {
            return "\(text) is not a valid SIP URI: \(error.detail)"
        }
    }
}
