/// One page of a list, oldest first, and the cursor of the next page (`nil` on the last).
public struct Page<Item: Sendable>: Sendable {
    public var items: [Item]
    public var nextCursor: String?

    public init(items: [Item], nextCursor: String?) {
        self.items = items
        self.nextCursor = nextCursor
    }
}

/// `?limit=&after=` as the domain checks them.
public struct PageRequest: Sendable, Equatable {
    public static let defaultLimit = 20
    public static let maxLimit = 100

    public var limit: Int
    public var after: String?

    /// Validates the limit range and that the cursor is an id of the listed kind.
    public init(limit: Int?, after: String?, idPrefix: String) throws(ControlError) {
        let limit = limit ?? Self.defaultLimit
        guard (1...Self.maxLimit).contains(limit) else {
            throw .badRequest("limit must be between 1 and \(Self.maxLimit)")
        }
        if let after, !Identifier.isValid(after, prefix: idPrefix) {
            throw .badRequest("after is not a cursor returned by this list")
        }
        self.limit = limit
        self.after = after
    }

    /// Turns the `limit + 1` rows a store fetched into a page.
    public func page<Item>(_ rows: [Item], id: (Item) -> String) -> Page<Item> {
        guard rows.count > limit else { return Page(items: rows, nextCursor: nil) }
        let items = Array(rows.prefix(limit))
        return Page(items: items, nextCursor: items.last.map(id))
    }
}
