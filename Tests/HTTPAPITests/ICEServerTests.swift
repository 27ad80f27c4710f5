import Control
import Foundation
@testable import HTTPAPI
import Testing

/// STUN/TURN URLs, TURN REST API credentials and the `iceServers` of widget sessions.
@Suite struct ICEServerTests {
    // MARK: TURN REST credentials

    /// The expected credentials were computed independently when the test was written, with
    /// Python's standard library:
    ///
    ///     base64.b64encode(hmac.new(secret, username.encode(), hashlib.sha1).digest())
    ///
    /// (`north`, `1764633600:wss_7f3kq2x9`) → `vFKUvrye6kUAgoxz8PZ5GFaAqds=`;
    /// (`switchboard-test-secret`, `1700000000:wss_abc`) → `a8kNeODerAiWU4uhZbRB8RyZOq4=`.
    /// The RFC 2202 HMAC-SHA1 case 2 (key `Jefe`) is effcdf6ae5eb2fa2d27416d5f184df9c259a7c79,
    /// in base64 `7/zfauXrL6LSdBbV8YTfnCWafHk=`.
    @Test(arguments: [
        ("north", "1764633600:wss_7f3kq2x9", "vFKUvrye6kUAgoxz8PZ5GFaAqds="),
        ("switchboard-test-secret", "1700000000:wss_abc", "a8kNeODerAiWU4uhZbRB8RyZOq4="),
        ("Jefe", "what do ya want for nothing?", "7/zfauXrL6LSdBbV8YTfnCWafHk="),
    ])
    func credentialIsBase64OfHMACSHA1(secret: String, username: String, expected: String) {
        #expect(TURNRESTCredentials(secret: Data(secret.utf8)).credential(for: username) == expected)
    }

    @Test func anotherSecretGivesAnotherCredential() {
        let username = "1764633600:wss_7f3kq2x9"
        #expect(TURNRESTCredentials(secret: Data("north".utf8)).credential(for: username)
            != TURNRESTCredentials(secret: Data("south".utf8)).credential(for: username))
    }

    @Test func usernameIsTheExpiryInUnixSecondsAndTheSessionId() {
        #expect(TURNRESTCredentials.username(sessionId: "wss_x", expiresAt: Date(timeIntervalSince1970: 1_764_633_600)) == "1764633600:wss_x")
        // Rounded down: the TURN server never accepts the username after the session has expired.
        #expect(TURNRESTCredentials.username(sessionId: "wss_x", expiresAt: Date(timeIntervalSince1970: 1_764_633_600.999)) == "1764633600:wss_x")
    }

    @Test func secretIsNeverPrinted() {
        let turn = TURNRESTCredentials(secret: Data("hunter2-secret".utf8))
        #expect(!"\(turn)".contains("hunter2"))
        #expect(!String(reflecting: turn).contains("hunter2"))
        let list = ICEServerList([.init(urls: ["turn:t.example"], credentials: .turnREST(turn))])
        #expect(!"\(list)".contains("hunter2"))
    }

    @Test func secretFileIsReadWithoutItsLineEnd() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("turn-secret-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let file = directory.appendingPathComponent("secret").path
        try Data("north\n".utf8).write(to: URL(fileURLWithPath: file))
        let loaded = try TURNRESTCredentials.load(secretFile: file)
        #expect(loaded.credential(for: "1764633600:wss_7f3kq2x9") == "vFKUvrye6kUAgoxz8PZ5GFaAqds=")

        let empty = directory.appendingPathComponent("empty").path
        try Data(" \n".utf8).write(to: URL(fileURLWithPath: empty))
        #expect(throws: TURNRESTCredentials.LoadError.empty(path: empty)) { try TURNRESTCredentials.load(secretFile: empty) }
        let missing = directory.appendingPathComponent("missing").path
        #expect(throws: TURNRESTCredentials.LoadError.unreadable(path: missing)) { try TURNRESTCredentials.load(secretFile: missing) }
        #expect(throws: TURNRESTCredentials.LoadError.unreadable(path: directory.path)) { try TURNRESTCredentials.load(secretFile: directory.path) }
        #expect("\(TURNRESTCredentials.LoadError.unreadable(path: missing))".hasPrefix("--turn-secret-file \(missing)"))
    }

    // MARK: URLs

    @Test(arguments: [
        ("stun:stun.example.net", ICEServerURL.Scheme.stun, "stun.example.net", nil, nil),
        ("stun:stun.example.net:3478", .stun, "stun.example.net", 3478, nil),
        ("stuns:stun.example.net:5349", .stuns, "stun.example.net", 5349, nil),
        ("turn:turn.example.net:3478?transport=udp", .turn, "turn.example.net", 3478, "udp"),
        ("turn:127.0.0.1:40000?transport=tcp", .turn, "127.0.0.1", 40000, "tcp"),
        ("turns:turn.example.net", .turns, "turn.example.net", nil, nil),
        ("TURN:[2001:db8::1]:3478", .turn, "2001:db8::1", 3478, nil),
        ("stun:[::1]", .stun, "::1", nil, nil),
    ] as [(String, ICEServerURL.Scheme, String, Int?, String?)])
    func goodURLs(text: String, scheme: ICEServerURL.Scheme, host: String, port: Int?, transport: String?) throws {
        let url = try ICEServerURL(text)
        #expect(url.scheme == scheme)
        #expect(url.host == host)
        #expect(url.port == port)
        #expect(url.transport == transport)
        #expect(url.description == text)
    }

    @Test(arguments: [
        "", "turn.example.net", "http://turn.example.net", "turn://turn.example.net:3478", "turn:", "stun:host:0",
        "stun:host:65536", "stun:host:abc", "stun:host:", "stun:host?transport=udp", "turn:host?transport=sctp",
        "turn:host?foo=bar", "turn:2001:db8::1:3478", "turn:[2001:db8::1", "turn:[]:3478", "turn:ho st", "turn:-host",
        "turn:host..example", "turn:user@host", "turn:[::1]x",
    ])
    func badURLs(text: String) {
        #expect(throws: ICEServerURL.ParseError.self) { try ICEServerURL(text) }
    }

    // MARK: Option values

    @Test func entriesFromOptionValues() throws {
        let list = try ICEServerList.parse(
            ["stun:stun.example.net:3478", "turn:turn.example.net:3478?transport=udp, turns:turn.example.net:5349"],
            turnCredentials: .fixed(username: "shop", password: "pw")
        )
        #expect(list.entries.map(\.urls) == [["stun:stun.example.net:3478"], ["turn:turn.example.net:3478?transport=udp", "turns:turn.example.net:5349"]])
        #expect(list.entries[0].credentials.isNone, "STUN entries carry no credentials")
        let session = list.forSession(id: "wss_1", expiresAt: Date(timeIntervalSince1970: 1_764_633_600))
        #expect(session[0].username == nil && session[0].credential == nil)
        #expect(session[1].username == "shop" && session[1].credential == "pw")
        #expect(try ICEServerList.parse([], turnCredentials: .none).entries.isEmpty)
    }

    @Test func optionValuesThatDoNotFit() {
        #expect(throws: ICEServerList.ConfigurationError.self) { try ICEServerList.parse(["turn:t.example"], turnCredentials: .none) }
        #expect(throws: ICEServerList.ConfigurationError.self) {
            try ICEServerList.parse(["stun:s.example"], turnCredentials: .fixed(username: "u", password: "p"))
        }
        #expect(throws: ICEServerList.ConfigurationError.self) { try ICEServerList.parse([" , "], turnCredentials: .none) }
        do {
            _ = try ICEServerList.parse(["stun:s.example", "stun:s.example:99999"], turnCredentials: .none)
            Issue.record("a bad port was accepted")
        } catch {
            #expect("\(error)".contains("--ice-server stun:s.example:99999"), "\(error)")
        }
    }

    @Test func turnRESTCredentialsAreMadePerSession() {
        let list = ICEServerList([
            .init(urls: ["stun:s.example"], credentials: .none),
            .init(urls: ["turn:127.0.0.1:3478?transport=udp"], credentials: .turnREST(TURNRESTCredentials(secret: Data("north".utf8)))),
        ])
        let expiry = Date(timeIntervalSince1970: 1_764_633_600.25)
        let first = list.forSession(id: "wss_7f3kq2x9", expiresAt: expiry)
        #expect(first[0].username == nil)
        #expect(first[1].urls == ["turn:127.0.0.1:3478?transport=udp"])
        #expect(first[1].username == "1764633600:wss_7f3kq2x9")
        #expect(first[1].credential == "vFKUvrye6kUAgoxz8PZ5GFaAqds=")
        let second = list.forSession(id: "wss_other", expiresAt: expiry.addingTimeInterval(60))
        #expect(second[1].username == "1764633660:wss_other")
        #expect(second[1].credential != first[1].credential)
    }

    // MARK: Widget sessions

    @Test func widgetSessionCarriesCredentialsThatExpireWithIt() async throws {
        let server = try await TestServer()
        let turn = TURNRESTCredentials(secret: Data("north".utf8))
        let handlers = APIHandlers(
            widgets: server.widgets, apiKeys: server.apiKeys, trunks: server.trunks, calls: server.calls,
            events: EventService(storage: server.webhooks.storage), webhooks: server.webhooks, onRedeliver: {},
            iceServers: [
                .init(urls: ["stun:127.0.0.1:3478"], credentials: .none),
                .init(urls: ["turn:127.0.0.1:3478?transport=udp"], credentials: .turnREST(turn)),
            ],
            version: "test"
        )
        let admin = try #require(try await server.apiKeys.authenticate(secret: server.adminKey))
        let info = RequestInfo(principal: admin, origin: nil, clientAddress: "127.0.0.1", baseURL: "http://gw.example:8080", body: nil)
        try await RequestInfo.$current.withValue(info) {
            let widget = try await handlers.createWidget(.init(body: .json(.init(name: "Shop", destination: "sip:q@example.com")))).created.body.json
            let issued = try await handlers.createWidgetSession(.init(path: .init(widgetId: widget.id))).created.body.json
            #expect(issued.iceServers.count == 2)
            #expect(issued.iceServers[0].urls == ["stun:127.0.0.1:3478"])
            #expect(issued.iceServers[0].username == nil && issued.iceServers[0].credential == nil)
            let relay = issued.iceServers[1]
            let username = try #require(relay.username)
            #expect(username == "\(Int64(issued.expiresAt.timeIntervalSince1970.rounded(.down))):\(issued.id)")
            #expect(relay.credential == turn.credential(for: username))
        }
    }
}
