import Foundation
import Logging
import NIOCore
import NIOPosix
import SRTP

@testable import MediaPlane

/// What the tests that drive a call through real sockets (relay and transcoding) set up alike.
enum RealSocketCall {
    /// A media plane on loopback with one event loop, over `ports`, its certificate in a fresh
    /// temporary directory named after `name`; its sockets polled by the loop's receiver every
    /// `receiveInterval` whatever the rate, or read by NIO as datagrams come (nil).
    static func plane(
        ports: ClosedRange<Int>, name: String, receiveInterval: Duration? = .milliseconds(1)
    ) throws -> (plane: MediaPlane, group: MultiThreadedEventLoopGroup, directory: String) {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("\(name)-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        var configuration = MediaPlaneConfiguration(
            bindHost: "127.0.0.1", advertisedHost: "127.0.0.1", ports: ports, mediaTimeout: .seconds(600), iceTimeout: .seconds(600),
            certificateDirectory: directory
        )
        configuration.receiveInterval = receiveInterval
        configuration.receivePollAbove = nil
        let plane = try MediaPlane(configuration: configuration, group: group, logger: Logger(label: "test"))
        return (plane, group, directory)
    }

    /// For a call driven without ICE and DTLS: waits until the session has its plan and both
    /// audio channels (the loop registers them first), then gives it the browser's address and
    /// SRTP keys, as if ICE had picked that address and DTLS had exported the keys. False when
    /// the session is not ready within 5 s.
    static func installKeys(on session: MediaSession, browserAddress: SocketAddress, keys: SRTPKeys) async throws -> Bool {
        for _ in 0..<500 {
            let ready = try await session.loop.submit { () throws -> Bool in
                guard session.plan != nil, session.channels[.browser] != nil, session.channels[.callee] != nil else { return false }
                session.browserAddress = browserAddress
                session.srtp = try SRTPSession(keys: keys)
                return true
            }.get()
            if ready { return true }
            try await Task.sleep(for: .milliseconds(10))
        }
        return false
    }
}
