import Control

/// `--demo`: a widget that calls the demo call centre on 127.0.0.1:5080, created once.
enum DemoSetup {
    static let widgetName = "Demo shop"

    static func ensureWidget(_ widgets: WidgetService, httpPort: Int) async throws -> Widget {
        var after: String?
        repeat {
            let page = try await widgets.list(limit: PageRequest.maxLimit, after: after)
            if let existing = page.items.first(where: { $0.name == widgetName }) { return existing }
            after = page.nextCursor
        } while after != nil
        return try await widgets.create(
            WidgetDraft(
                name: widgetName,
                label: "Call us",
                destination: "sip:agent@127.0.0.1:5080",
                allowedOrigins: ["http://127.0.0.1:\(httpPort)", "http://localhost:\(httpPort)"]
            )
        )
    }
}
