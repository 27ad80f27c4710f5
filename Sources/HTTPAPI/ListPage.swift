/// `{data, nextCursor}` with `nextCursor: null` on the last page, as the spec requires
/// (generated types would omit the key instead).
package struct ListPage<Item: Codable & Hashable & Sendable>: Codable, Hashable, Sendable {
    package var data: [Item]
    package var nextCursor: String?

    package init(data: [Item], nextCursor: String?) {
        self.data = data
        self.nextCursor = nextCursor
    }

    enum CodingKeys: String, CodingKey {
        case data
        case nextCursor
    }

    package func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(data, forKey: .data)
        try container.encode(nextCursor, forKey: .nextCursor)
    }
}
