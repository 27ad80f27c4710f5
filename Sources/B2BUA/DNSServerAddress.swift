import Foundation
public import NIOCore

/// A DNS server given as `IP`, `IP:PORT` or `[IPv6]:PORT` (port 53 when left out).
public struct DNSServerAddress: Sendable, Hashable {
    public let address: SocketAddress

    public init?(_ text: String) {
        var host = Substring(text)
        var port = 53
        if host.hasPrefix("[") {
            guard let close = host.firstIndex(of: "]") else { return nil }
            let rest = host[host.index(after: close)...]
            host = host[host.index(after: host.startIndex)..<close]
            if !rest.isEmpty {
                guard rest.hasPrefix(":"), let parsed = Int(rest.dropFirst()) else { return nil }
                port = parsed
            }
        } else if host.filter({ $0 == ":" }).count == 1, let colon = host.firstIndex(of: ":") {
            guard let parsed = Int(host[host.index(after: colon)...]) else { return nil }
            port = parsed
            host = host[..<colon]
        }
        guard (1...65535).contains(port), let address = try? SocketAddress(ipAddress: String(host), port: port) else { return nil }
        self.address = address
    }

    /// The first `nameserver` line of a resolv.conf text.
    public static func fromResolvConf(_ text: String) -> DNSServerAddress? {
        for line in text.split(whereSeparator: { $0 == "\n" }) {
            let fields = line.split(whereSeparator: { $0 == " " || $0 == "\t" })
            if fields.count >= 2, fields[0] == "nameserver", let server = DNSServerAddress(String(fields[1])) { return server }
        }
        return nil
    }
}

extension DNSServerAddress {
    /// The first nameserver of /etc/resolv.conf, read once at start-up.
    public static func system() -> DNSServerAddress? {
        guard let text = try? String(contentsOfFile: "/etc/resolv.conf", encoding: .utf8) else { return nil }
        return fromResolvConf(text)
    }
}
