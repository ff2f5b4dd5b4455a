/// A weighted list of items per item, CSR (`offsets[a − 1] ..< offsets[a]`), best first: Item-KNN's
/// neighbours and the sequential rules' targets. Both score a session by its last item's list.
struct WeightedItemLists: Sendable {
    let itemCount: Int
    let offsets: [Int]
    let items: [Int32]
    let weights: [Float]

    /// The list of `item`, best first.
    func list(of item: Int32) -> [(item: Int32, weight: Float)] {
        (offsets[Int(item) - 1]..<offsets[Int(item)]).map { (items[$0], weights[$0]) }
    }

    /// Scores every item by its weight in the list of the session's last item (0 elsewhere).
    func score(session: ArraySlice<Int32>, into scores: UnsafeMutableBufferPointer<Float>) {
        scores.update(repeating: 0)
        guard let last = session.last, last >= 1, Int(last) <= itemCount else { return }
        for p in offsets[Int(last) - 1]..<offsets[Int(last)] { scores[Int(items[p]) - 1] = weights[p] }
    }
}
