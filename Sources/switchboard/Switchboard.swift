import ArgumentParser

@main
struct Switchboard: AsyncParsableCommand {
    static let version = "0.1.0"

    static let configuration = CommandConfiguration(
        commandName: "switchboard",
        abstract: "WebRTC-to-SIP \"Call Me\" gateway.",
        version: version,
        subcommands: [Serve.self]
    )
}
