import Foundation
import Logging
import ServiceLifecycle

/// A service that says when it stops and why: a part that ends before shutdown was asked for
/// takes the whole process down, and the log must say which part it was.
struct SupervisedService: Service {
    let name: String
    let service: any Service
    let logger: Logger

    func run() async throws {
        do {
            try await service.run()
            if Task.isShuttingDownGracefully || Task.isCancelled {
                logger.debug("service stopped", metadata: ["service": "\(name)"])
            } else {
                logger.error("service ended unexpectedly", metadata: ["service": "\(name)"])
            }
        } catch {
            logger.error("service failed", metadata: ["service": "\(name)", "error": "\(String(reflecting: error))"])
            throw error
        }
    }
}

/// Servers open a socket per connection: use the hard limit on open files, not the soft one.
enum ResourceLimits {
    static func raiseOpenFiles(logger: Logger) {
        var limit = rlimit()
        guard getrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &limit) == 0, limit.rlim_cur < limit.rlim_max else { return }
        limit.rlim_cur = limit.rlim_max
        if setrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &limit) != 0 {
            logger.warning("could not raise the open-file limit")
        }
    }
}
