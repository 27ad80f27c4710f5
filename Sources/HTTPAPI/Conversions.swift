import Control

extension Components.Schemas.Widget {
    init(_ widget: Widget) {
        self.init(
            id: widget.id, name: widget.name, label: widget.effectiveLabel, appearance: .init(widget.appearance),
            destination: widget.destination, allowedOrigins: widget.allowedOrigins, video: widget.video,
            recording: .init(auto: widget.recording.auto, announce: widget.recording.announce),
            enabled: widget.enabled, routingWebhook: widget.routingWebhook.map(Components.Schemas.RoutingWebhook.init),
            createdAt: widget.createdAt, updatedAt: widget.updatedAt
        )
    }
}

extension Components.Schemas.RoutingWebhook {
    init(_ routing: RoutingWebhook) {
        self.init(url: routing.url, timeoutMilliseconds: routing.timeoutMilliseconds, allowedDestinations: routing.allowedDestinations)
    }
}

extension RoutingWebhook {
    init(_ routing: Components.Schemas.RoutingWebhook) {
        self.init(
            url: routing.url, timeoutMilliseconds: routing.timeoutMilliseconds ?? RoutingWebhook.defaultTimeoutMilliseconds,
            allowedDestinations: routing.allowedDestinations
        )
    }
}

extension Components.Schemas.Appearance {
    init(_ appearance: Appearance) {
        self.init(
            primaryColor: appearance.primaryColor, textColor: appearance.textColor,
            position: appearance.position.flatMap(PositionPayload.init(rawValue:)),
            shape: appearance.shape.flatMap(ShapePayload.init(rawValue:)),
            language: appearance.language
        )
    }
}

extension Appearance {
    init(_ appearance: Components.Schemas.Appearance) {
        self.init(
            primaryColor: appearance.primaryColor, textColor: appearance.textColor,
            position: appearance.position?.rawValue, shape: appearance.shape?.rawValue, language: appearance.language
        )
    }
}

extension RecordingChanges {
    init(_ policy: Components.Schemas.RecordingPolicy) {
        self.init(auto: policy.auto, announce: policy.announce)
    }
}

extension Components.Schemas.ApiKey {
    init(_ key: APIKey) {
        self.init(id: key.id, name: key.name, prefix: key.prefix, createdAt: key.createdAt, lastUsedAt: key.lastUsedAt, revokedAt: key.revokedAt)
    }
}
