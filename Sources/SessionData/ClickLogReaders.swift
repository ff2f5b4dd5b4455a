/// How a time field is written.
public enum TimeFormat: String, Sendable, Codable, CaseIterable {
    /// `2014-04-07T10:51:09.277Z`: the first 19 characters are read (as the reference does), as UTC.
    case iso8601
    /// Seconds since 1970 (an integer or a decimal), as RecBole's `timestamp:float`.
    case unix
    /// `2016-05-09`: midnight UTC of that day.
    case date
}

/// A column, by 0-based position or by header name (for RecBole's typed headers such as
/// `user_id:token`, the part before `:` matches too).
public enum ColumnReference: Sendable, Codable, Equatable, CustomStringConvertible {
    case index(Int)
    case name(String)

    /// A number means a 0-based index, anything else a header name.
    public init(parsing text: String) {
        if let index = Int(text), index >= 0 { self = .index(index) } else { self = .name(text) }
    }

    public var description: String {
        switch self {
        case .index(let i): return "column \(i)"
        case .name(let name): return "'\(name)'"
        }
    }
}

/// Whether the first line is a header.
public enum HeaderMode: String, Sendable, Codable, CaseIterable {
    case present, absent
    /// A header when the first line's session field is not a number (Yoochoose ships without one;
    /// the reference's script expects one).
    case auto
}

/// Which click dates a session: the reference uses the last row read for the session.
public enum SessionDateRule: String, Sendable, Codable, CaseIterable {
    /// The time of the session's last row in file order (the reference, both datasets).
    case lastRead
    /// The latest time among the session's clicks (generic logs and RecBole files).
    case latest
}

/// The layout of a delimited click log and how the reference reads it.
public struct ClickLogFormat: Sendable, Codable, Equatable {
    /// Field separator, one ASCII character.
    public var delimiter: UInt8
    public var header: HeaderMode
    public var session: ColumnReference
    public var item: ColumnReference
    public var time: ColumnReference
    public var timeFormat: TimeFormat
    /// An integer column that orders the clicks of a session (Diginetica's `timeframe`); when `nil`
    /// and `sortWithinSession` is set, clicks are ordered by `time`.
    public var order: ColumnReference?
    /// Sort each session's clicks (stably) by `order` or `time`; otherwise keep file order.
    public var sortWithinSession: Bool
    public var sessionDate: SessionDateRule

    public init(
        delimiter: UInt8, header: HeaderMode, session: ColumnReference, item: ColumnReference,
        time: ColumnReference, timeFormat: TimeFormat, order: ColumnReference? = nil,
        sortWithinSession: Bool = true, sessionDate: SessionDateRule = .latest
    ) {
        self.delimiter = delimiter
        self.header = header
        self.session = session
        self.item = item
        self.time = time
        self.timeFormat = timeFormat
        self.order = order
        self.sortWithinSession = sortWithinSession
        self.sessionDate = sessionDate
    }

    /// Raw Diginetica `train-item-views.csv`: `session_id;user_id;item_id;timeframe;eventdate`.
    /// Clicks sorted by `timeframe`; the session's date is the `eventdate` of its last row read.
    public static let diginetica = ClickLogFormat(
        delimiter: UInt8(ascii: ";"), header: .present, session: .name("session_id"), item: .name("item_id"),
        time: .name("eventdate"), timeFormat: .date, order: .name("timeframe"),
        sortWithinSession: true, sessionDate: .lastRead)

    /// Raw `yoochoose-clicks.dat`: `session_id,timestamp,item_id,category`, header optional.
    /// File order; the session's date is the time of its last click.
    public static let yoochoose = ClickLogFormat(
        delimiter: UInt8(ascii: ","), header: .auto, session: .index(0), item: .index(2),
        time: .index(1), timeFormat: .iso8601, order: nil, sortWithinSession: false, sessionDate: .lastRead)

    /// A RecBole atomic `.inter` file: tab-separated with a typed header (`user_id:token`).
    public static func recbole(
        sessionField: String = "session_id", itemField: String = "item_id",
        timeField: String = "timestamp"
    ) -> ClickLogFormat {
        ClickLogFormat(
            delimiter: UInt8(ascii: "\t"), header: .present, session: .name(sessionField),
            item: .name(itemField), time: .name(timeField), timeFormat: .unix,
            order: nil, sortWithinSession: true, sessionDate: .latest)
    }
}

/// A click log held compactly: sessions and items interned to dense indices in order of first
/// appearance, one entry per click in file order.
public struct ClickLog: Sendable {
    public var path: String
    /// Raw session id of each session index (first appearance order); empty when read without
    /// keeping them (`ClickLogReader.read(_:keepingSessionKeys:)`; preprocessing does not need them).
    public var sessionKeys: [String] = []
    /// Raw item id of each raw item index (first appearance order).
    public var itemKeys: [String] = []
    /// `[clicks]` session index of each click, file order.
    public var clickSession: [Int32] = []
    /// `[clicks]` raw item index of each click.
    public var clickItem: [Int32] = []
    /// `[clicks]` the key that orders clicks within a session; empty when file order is kept.
    public var clickOrder: [Double] = []
    /// `[sessions]` the session's date in seconds (see `SessionDateRule`).
    public var sessionDate: [Double] = []
    /// `[sessions]` the reference's dictionary order of session dates: the rank of the moment the
    /// session's first run of consecutive rows ended. Ties in date keep this order.
    public var sessionDateRank: [Int32] = []
    /// Blank lines skipped.
    public var blankLines = 0
    /// Header line read, if any.
    public var headerLine: Int? = nil

    public var clickCount: Int { clickSession.count }
    public var sessionCount: Int { sessionDate.count }
    public var itemCount: Int { itemKeys.count }

    public init(path: String) { self.path = path }
}

/// Streams a delimited click log into a `ClickLog`, failing with the file, line and field.
public struct ClickLogReader {
    public var format: ClickLogFormat

    public init(format: ClickLogFormat) { self.format = format }

    /// Reads `path`. Without `keepingSessionKeys` the log's `sessionKeys` stay empty: the ids are
    /// held only while reading (to tell sessions apart), which is all preprocessing needs.
    public func read(_ path: String, keepingSessionKeys: Bool = true) throws -> ClickLog {
        var log = ClickLog(path: path)
        var state = State(format: format, path: path)
        try FileIO.forEachLine(path) { line, number in
            try state.consume(line, number, &log)
        }
        guard state.sawAnyLine else {
            throw SessionDataError(
                file: path, "empty file, expected \(format.header == .absent ? "click rows" : "a header line and click rows")")
        }
        guard log.clickCount > 0 else {
            throw SessionDataError(file: path, location: .line(state.lastLine), "no click rows after the header")
        }
        state.finish(&log)
        if keepingSessionKeys {
            log.sessionKeys = (0..<state.sessionIndex.count).map { String(decoding: state.sessionIndex.key($0), as: UTF8.self) }
        }
        return log
    }

    /// Per-read parsing state.
    struct State {
        let format: ClickLogFormat
        let path: String
        var sawAnyLine = false
        var lastLine = 0
        var columns: (session: Int, item: Int, time: Int, order: Int?)? = nil
        var names: [String] = []
        var fieldStarts: [Int] = []
        var fieldEnds: [Int] = []
        var previousSession: [UInt8] = []
        var currentSession: Int32 = -1
        // Byte for byte: ids that differ in their bytes are different ids (see `RawKey`). Sessions
        // can number a fifth of the clicks: their ids go in a compact table, not a String each.
        var sessionIndex = SessionKeyTable()
        var itemIndex: [RawKey: Int32] = [:]
        var nextDateRank: Int32 = 0

        init(format: ClickLogFormat, path: String) {
            self.format = format
            self.path = path
        }

        func label(_ column: Int) -> String {
            column < names.count ? names[column] : "column \(column)"
        }

        mutating func split(_ line: UnsafeBufferPointer<UInt8>) {
            fieldStarts.removeAll(keepingCapacity: true)
            fieldEnds.removeAll(keepingCapacity: true)
            var start = 0
            for k in 0..<line.count where line[k] == format.delimiter {
                fieldStarts.append(start)
                fieldEnds.append(k)
                start = k + 1
            }
            fieldStarts.append(start)
            fieldEnds.append(line.count)
        }

        func resolve(_ reference: ColumnReference, _ role: String, line: Int) throws -> Int {
            switch reference {
            case .index(let i): return i
            case .name(let name):
                guard !names.isEmpty else {
                    throw SessionDataError(
                        file: path, location: .line(line), field: role,
                        "column '\(name)' is named but the file has no header; give a 0-based column index")
                }
                if let i = names.firstIndex(where: { $0 == name || $0.split(separator: ":", maxSplits: 1).first.map(String.init) == name })
                {
                    return i
                }
                throw SessionDataError(
                    file: path, location: .line(line), field: role,
                    "the header has no column '\(quotedPrefix(name))' (columns: \(quotedPrefix(names.joined(separator: ", "))))")
            }
        }

        mutating func consume(_ line: UnsafeBufferPointer<UInt8>, _ number: Int, _ log: inout ClickLog) throws {
            lastLine = number
            var line = line
            if number == 1 && line.count >= 3 && line[0] == 0xEF && line[1] == 0xBB && line[2] == 0xBF {
                line = UnsafeBufferPointer(rebasing: line[3...])  // a UTF-8 byte-order mark
            }
            if line.allSatisfy({ $0 == 0x20 }) {  // empty, or spaces only
                log.blankLines += 1
                return
            }
            split(line)
            if !sawAnyLine {
                sawAnyLine = true
                if try readFirstLine(line, number, &log) { return }
            }
            guard let columns else { return }
            let needed = max(columns.session, columns.item, columns.time, columns.order ?? 0) + 1
            guard fieldStarts.count >= needed else {
                throw SessionDataError(
                    file: path, location: .line(number),
                    "malformed row: expected at least \(needed) fields separated by '\(Character(Unicode.Scalar(format.delimiter)))', found \(fieldStarts.count)"
                )
            }
            try enterSession(line, number, columns.session, &log)
            let item = try itemOfRow(line, number, columns.item, &log)
            let time = try timeOfRow(line, number, columns.time)
            let s = Int(currentSession)
            switch format.sessionDate {
            case .lastRead: log.sessionDate[s] = time
            case .latest: log.sessionDate[s] = max(log.sessionDate[s], time)
            }
            if format.sortWithinSession {
                if let orderColumn = columns.order {
                    guard let key = parseInteger(line, fieldStarts[orderColumn], fieldEnds[orderColumn]) else {
                        throw fieldError(line, number, orderColumn, "an integer")
                    }
                    log.clickOrder.append(Double(key))
                } else {
                    log.clickOrder.append(time)
                }
            }
            log.clickSession.append(currentSession)
            log.clickItem.append(item)
        }

        /// The first non-blank line: the header (when the format says so, or guesses so) and the
        /// columns resolved. True when the line was a header, not a click.
        mutating func readFirstLine(_ line: UnsafeBufferPointer<UInt8>, _ number: Int, _ log: inout ClickLog) throws -> Bool {
            var isHeader = format.header == .present
            if format.header == .auto {
                // Header when the session field of the first line is not an integer.
                let column: Int
                if case .index(let i) = format.session { column = i } else { column = 0 }
                isHeader =
                    column >= fieldStarts.count
                    || parseInteger(line, fieldStarts[column], fieldEnds[column]) == nil
            }
            if isHeader {
                names = (0..<fieldStarts.count).map {
                    String(decoding: UnsafeBufferPointer(rebasing: line[fieldStarts[$0]..<fieldEnds[$0]]), as: UTF8.self)
                        .trimmingSpaces()
                }
                log.headerLine = number
            }
            let session = try resolve(format.session, "session", line: number)
            let item = try resolve(format.item, "item", line: number)
            let time = try resolve(format.time, "time", line: number)
            let order = try format.order.map { try resolve($0, "order", line: number) }
            columns = (session, item, time, order)
            return isHeader
        }

        /// Makes the row's session current (`currentSession`): consecutive rows of one session skip the dictionary.
        mutating func enterSession(_ line: UnsafeBufferPointer<UInt8>, _ number: Int, _ column: Int, _ log: inout ClickLog) throws {
            let sessionStart = fieldStarts[column], sessionEnd = fieldEnds[column]
            guard sessionEnd > sessionStart else {
                throw SessionDataError(
                    file: path, location: .line(number), field: label(column), "expected a session id, found an empty field")
            }
            let sameSession =
                currentSession >= 0 && previousSession.count == sessionEnd - sessionStart
                && previousSession.withUnsafeBufferPointer { previous in
                    (0..<previous.count).allSatisfy { previous[$0] == line[sessionStart + $0] }
                }
            if !sameSession {
                if currentSession >= 0 && log.sessionDateRank[Int(currentSession)] < 0 {
                    log.sessionDateRank[Int(currentSession)] = nextDateRank
                    nextDateRank += 1
                }
                _ = try rawID(line, sessionStart, sessionEnd, number, column)  // UTF-8, or an error naming the line
                let (index, isNew) = sessionIndex.intern(UnsafeBufferPointer(rebasing: line[sessionStart..<sessionEnd]))
                currentSession = index
                if isNew {
                    log.sessionDate.append(-.infinity)
                    log.sessionDateRank.append(-1)
                }
                previousSession.removeAll(keepingCapacity: true)
                previousSession.append(contentsOf: line[sessionStart..<sessionEnd])
            }
        }

        /// The row's item, numbered in order of first appearance.
        mutating func itemOfRow(_ line: UnsafeBufferPointer<UInt8>, _ number: Int, _ column: Int, _ log: inout ClickLog) throws -> Int32 {
            let itemStart = fieldStarts[column], itemEnd = fieldEnds[column]
            guard itemEnd > itemStart else {
                throw SessionDataError(
                    file: path, location: .line(number), field: label(column), "expected an item id, found an empty field")
            }
            let itemKey = try rawID(line, itemStart, itemEnd, number, column)
            let item: Int32
            if let known = itemIndex[RawKey(itemKey)] {
                item = known
            } else {
                item = Int32(log.itemKeys.count)
                itemIndex[RawKey(itemKey)] = item
                log.itemKeys.append(itemKey)
            }
            return item
        }

        /// The row's time in seconds since 1970, in the format's time format, within the years 1 to 9999.
        func timeOfRow(_ line: UnsafeBufferPointer<UInt8>, _ number: Int, _ column: Int) throws -> Double {
            let timeStart = fieldStarts[column], timeEnd = fieldEnds[column]
            let time: Double
            switch format.timeFormat {
            case .date:
                guard let t = parseDate(line, timeStart, timeEnd) else {
                    throw fieldError(line, number, column, "a date like 2016-05-09")
                }
                time = t
            case .iso8601:
                guard let t = parseISO8601(line, timeStart, timeEnd) else {
                    throw fieldError(line, number, column, "an ISO 8601 time like 2014-04-07T10:51:09.277Z")
                }
                time = t
            case .unix:
                guard let t = parseNumber(line, timeStart, timeEnd) else {
                    throw fieldError(line, number, column, "a number of seconds since 1970")
                }
                time = t
            }
            guard InputLimits.timeRange.contains(time) else {
                throw fieldError(line, number, column, "a time in the years 1 to 9999")
            }
            return time
        }

        /// A session or item id as its exact bytes. Bytes that are not UTF-8 are an error: decoding
        /// would replace them with U+FFFD, merging different ids and changing the ids written out.
        func rawID(_ line: UnsafeBufferPointer<UInt8>, _ start: Int, _ end: Int, _ number: Int, _ column: Int) throws -> String {
            let bytes = UnsafeBufferPointer(rebasing: line[start..<end])
            guard let text = String(validating: bytes, as: UTF8.self) else {
                throw SessionDataError(
                    file: path, location: .line(number), field: label(column),
                    "expected an id in UTF-8, found bytes that are not UTF-8 (\(quotedPrefix(String(decoding: bytes, as: UTF8.self))))")
            }
            return text
        }

        func fieldError(_ line: UnsafeBufferPointer<UInt8>, _ number: Int, _ column: Int, _ expected: String) -> SessionDataError {
            let found = String(decoding: UnsafeBufferPointer(rebasing: line[fieldStarts[column]..<fieldEnds[column]]), as: UTF8.self)
            return SessionDataError(
                file: path, location: .line(number), field: quotedPrefix(label(column)),
                "expected \(expected), found '\(quotedPrefix(found))'")
        }

        mutating func finish(_ log: inout ClickLog) {
            if currentSession >= 0 && log.sessionDateRank[Int(currentSession)] < 0 {
                log.sessionDateRank[Int(currentSession)] = nextDateRank
                nextDateRank += 1
            }
        }
    }
}

/// Session ids interned byte for byte, numbered from 0 in order of first appearance: the ids'
/// bytes back to back, where each ends, and an open-addressing hash table of indices (4 bytes a
/// slot). A `[RawKey: Int32]` holds a 16-byte `String` (plus a heap copy past 15 bytes) and a
/// value per slot, several times this for the millions of sessions of a large log.
struct SessionKeyTable {
    /// The ids' UTF-8 bytes, back to back.
    private(set) var bytes: [UInt8] = []
    /// `[count]` where each id ends in `bytes` (id `i` starts where id `i − 1` ends).
    private(set) var ends: [Int] = []
    /// Id index per slot, −1 for an empty slot; a power of two, at most three quarters full.
    private var slots = [Int32](repeating: -1, count: 1024)
    var count: Int { ends.count }

    /// The bytes of id `i`.
    func key(_ i: Int) -> ArraySlice<UInt8> { bytes[(i == 0 ? 0 : ends[i - 1])..<ends[i]] }

    private func hash(_ key: UnsafeBufferPointer<UInt8>) -> Int {
        var hasher = Hasher()  // seeded per process: crafted ids cannot force collisions
        hasher.combine(bytes: UnsafeRawBufferPointer(key))
        return hasher.finalize()
    }

    /// The index of `key`, added as the next index when new (`isNew`).
    mutating func intern(_ key: UnsafeBufferPointer<UInt8>) -> (index: Int32, isNew: Bool) {
        let mask = slots.count - 1
        var slot = hash(key) & mask
        while slots[slot] >= 0 {
            let known = Int(slots[slot])
            let start = known == 0 ? 0 : ends[known - 1]
            if ends[known] - start == key.count
                && bytes.withUnsafeBufferPointer({ UnsafeBufferPointer(rebasing: $0[start..<ends[known]]).elementsEqual(key) })
            {
                return (Int32(known), false)
            }
            slot = (slot + 1) & mask
        }
        let index = Int32(ends.count)
        bytes.append(contentsOf: key)
        ends.append(bytes.count)
        slots[slot] = index
        if ends.count * 4 > slots.count * 3 { grow() }
        return (index, true)
    }

    /// Doubles the slots and places every id again.
    private mutating func grow() {
        slots = [Int32](repeating: -1, count: slots.count * 2)
        let mask = slots.count - 1
        bytes.withUnsafeBufferPointer { stored in
            var start = 0
            for i in 0..<ends.count {
                var slot = hash(UnsafeBufferPointer(rebasing: stored[start..<ends[i]])) & mask
                while slots[slot] >= 0 { slot = (slot + 1) & mask }
                slots[slot] = Int32(i)
                start = ends[i]
            }
        }
    }
}

extension String {
    func trimmingSpaces() -> String {
        var s = Substring(self)
        while let first = s.first, first == " " || first == "\"" { s.removeFirst() }
        while let last = s.last, last == " " || last == "\"" { s.removeLast() }
        return String(s)
    }
}

// MARK: Field parsers (bytes start..<end of a line)

@inline(__always)
func parseInteger(_ line: UnsafeBufferPointer<UInt8>, _ start: Int, _ end: Int) -> Int64? {
    var k = start
    var negative = false
    if k < end && (line[k] == UInt8(ascii: "-") || line[k] == UInt8(ascii: "+")) {
        negative = line[k] == UInt8(ascii: "-")
        k += 1
    }
    guard k < end, end - k <= 18 else { return nil }
    var value: Int64 = 0
    while k < end {
        let digit = line[k] &- 0x30
        guard digit < 10 else { return nil }
        value = value * 10 + Int64(digit)
        k += 1
    }
    return negative ? -value : value
}

func parseNumber(_ line: UnsafeBufferPointer<UInt8>, _ start: Int, _ end: Int) -> Double? {
    if let integer = parseInteger(line, start, end) { return Double(integer) }
    guard end > start else { return nil }
    let text = String(decoding: UnsafeBufferPointer(rebasing: line[start..<end]), as: UTF8.self)
    guard let value = Double(text), value.isFinite else { return nil }
    return value
}

/// Days from 1970-01-01 to the proleptic Gregorian date (Hinnant's `days_from_civil`).
func daysFromCivil(year: Int, month: Int, day: Int) -> Int {
    let y = month <= 2 ? year - 1 : year
    let era = (y >= 0 ? y : y - 399) / 400
    let yearOfEra = y - era * 400
    let dayOfYear = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1
    let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
    return era * 146097 + dayOfEra - 719468
}

@inline(__always)
private func digits(_ line: UnsafeBufferPointer<UInt8>, _ start: Int, _ count: Int) -> Int? {
    var value = 0
    for k in start..<(start + count) {
        let digit = line[k] &- 0x30
        guard digit < 10 else { return nil }
        value = value * 10 + Int(digit)
    }
    return value
}

/// Days in `month` (1...12) of `year`, proleptic Gregorian.
func daysIn(month: Int, year: Int) -> Int {
    switch month {
    case 2: return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 ? 29 : 28
    case 4, 6, 9, 11: return 30
    default: return 31
    }
}

/// `YYYY-MM-DD` → seconds since 1970 (UTC midnight).
func parseDate(_ line: UnsafeBufferPointer<UInt8>, _ start: Int, _ end: Int) -> Double? {
    guard end - start == 10, line[start + 4] == UInt8(ascii: "-"), line[start + 7] == UInt8(ascii: "-"),
        let year = digits(line, start, 4), let month = digits(line, start + 5, 2), let day = digits(line, start + 8, 2),
        (1...12).contains(month), (1...daysIn(month: month, year: year)).contains(day)
    else { return nil }
    return Double(daysFromCivil(year: year, month: month, day: day) * 86400)
}

/// The first 19 characters `YYYY-MM-DDTHH:MM:SS` → seconds since 1970, as UTC (the reference
/// reads the same 19 characters; fractions and zone are ignored).
func parseISO8601(_ line: UnsafeBufferPointer<UInt8>, _ start: Int, _ end: Int) -> Double? {
    guard end - start >= 19, let date = parseDate(line, start, start + 10),
        line[start + 10] == UInt8(ascii: "T") || line[start + 10] == UInt8(ascii: " "),
        line[start + 13] == UInt8(ascii: ":"), line[start + 16] == UInt8(ascii: ":"),
        let hour = digits(line, start + 11, 2), let minute = digits(line, start + 14, 2),
        let second = digits(line, start + 17, 2), hour < 24, minute < 60, second < 61
    else { return nil }
    return date + Double(hour * 3600 + minute * 60 + second)
}
