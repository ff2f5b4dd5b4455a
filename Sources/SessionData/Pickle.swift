/// A Python pickle value of the kinds SR-GNN data is made of: integers, lists and tuples.
public indirect enum PickleValue: Sendable, Equatable {
    case int(Int)
    case list([PickleValue])
    case tuple([PickleValue])
    case none
    case bool(Bool)
}

/// A small pickle codec for nested lists and tuples of integers, protocols 2 to 5.
///
/// The reader understands the opcodes Python emits for such data: `PROTO`, `FRAME`, `STOP`,
/// `MARK`, `EMPTY_LIST`, `EMPTY_TUPLE`, `LIST`, `TUPLE`, `TUPLE1/2/3`, `APPEND`, `APPENDS`,
/// `BININT`, `BININT1`, `BININT2`, `LONG1`, `NONE`, `NEWTRUE`, `NEWFALSE`, the memo
/// (`BINPUT`, `LONG_BINPUT`, `MEMOIZE`, `BINGET`, `LONG_BINGET`), `POP`, `POP_MARK` and `DUP`.
/// Anything else is an error naming the opcode and its byte offset.
///
/// Lists live in an arena and the stack holds references into it, so that a memoised list
/// mutated by later `APPENDS` (what Python writes: `EMPTY_LIST BINPUT MARK … APPENDS`) is one object.
public enum Pickle {
    // Opcodes (pickletools names).
    static let PROTO: UInt8 = 0x80, FRAME: UInt8 = 0x95, STOP: UInt8 = 0x2E, MARK: UInt8 = 0x28
    static let EMPTY_LIST: UInt8 = 0x5D, EMPTY_TUPLE: UInt8 = 0x29, LIST: UInt8 = 0x6C, TUPLE: UInt8 = 0x74
    static let TUPLE1: UInt8 = 0x85, TUPLE2: UInt8 = 0x86, TUPLE3: UInt8 = 0x87
    static let APPEND: UInt8 = 0x61, APPENDS: UInt8 = 0x65
    static let BININT: UInt8 = 0x4A, BININT1: UInt8 = 0x4B, BININT2: UInt8 = 0x4D, LONG1: UInt8 = 0x8A
    static let NONE: UInt8 = 0x4E, NEWTRUE: UInt8 = 0x88, NEWFALSE: UInt8 = 0x89
    static let BINPUT: UInt8 = 0x71, LONG_BINPUT: UInt8 = 0x72, MEMOIZE: UInt8 = 0x94
    static let BINGET: UInt8 = 0x68, LONG_BINGET: UInt8 = 0x6A
    static let POP: UInt8 = 0x30, POP_MARK: UInt8 = 0x31, DUP: UInt8 = 0x32

    static let opcodeNames: [UInt8: String] = [
        0x63: "GLOBAL", 0x93: "STACK_GLOBAL", 0x52: "REDUCE", 0x81: "NEWOBJ", 0x92: "NEWOBJ_EX", 0x62: "BUILD",
        0x7D: "EMPTY_DICT", 0x64: "DICT", 0x73: "SETITEM", 0x75: "SETITEMS", 0x8F: "EMPTY_SET", 0x90: "ADDITEMS",
        0x91: "FROZENSET", 0x58: "BINUNICODE", 0x8C: "SHORT_BINUNICODE", 0x8D: "BINUNICODE8", 0x56: "UNICODE",
        0x42: "BINBYTES", 0x43: "SHORT_BINBYTES", 0x8E: "BINBYTES8", 0x54: "BINSTRING", 0x55: "SHORT_BINSTRING",
        0x53: "STRING", 0x47: "BINFLOAT", 0x46: "FLOAT", 0x49: "INT", 0x4C: "LONG", 0x8B: "LONG4",
        0x70: "PUT", 0x67: "GET", 0x96: "BYTEARRAY8", 0x97: "NEXT_BUFFER", 0x98: "READONLY_BUFFER",
        0x69: "INST", 0x6F: "OBJ", 0x50: "PERSID", 0x51: "BINPERSID", 0x82: "EXT1", 0x83: "EXT2", 0x84: "EXT4",
    ]

    // MARK: Reading

    /// A stack slot: an integer, or a reference to a container in the arena.
    enum Slot {
        case int(Int)
        case container(Int32)
        case none
        case bool(Bool)
    }

    /// Decoded pickle: containers in an arena, `root` the value `STOP` returned.
    struct Arena {
        var containers: [[Slot]] = []
        var isTuple: [Bool] = []
        var root: Slot = .none

        mutating func make(_ elements: [Slot], tuple: Bool) -> Slot {
            containers.append(elements)
            isTuple.append(tuple)
            return .container(Int32(containers.count - 1))
        }

        /// Deepest nesting of lists and tuples accepted (SR-GNN's files nest three deep).
        static let maximumDepth = 32

        /// Refuses a value that cannot become a tree of bounded size: a list that contains itself
        /// (the memo allows it) or nesting deeper than `maximumDepth` (malformed for SR-GNN data),
        /// or a tree of more than `budget` values once lists shared through the memo are counted
        /// at every place they occur (a limit: Python writes `[[1, 2, 3]] * 50` that way). Walks
        /// iteratively, so hostile nesting cannot overflow the stack.
        func checkShape(budget: Int) -> ShapeProblem? {
            guard case .container(let root) = root else { return nil }
            var state = [UInt8](repeating: 0, count: containers.count)  // 0 new, 1 open, 2 done
            var expanded = [Int](repeating: 0, count: containers.count)
            var path: [(container: Int, next: Int)] = [(Int(root), 0)]
            state[Int(root)] = 1
            while let (container, next) = path.last {
                let elements = containers[container]
                if next == elements.count {
                    var total = elements.count
                    for case .container(let child) in elements { total += expanded[Int(child)] }
                    guard total <= budget else { return .overBudget }
                    expanded[container] = total
                    state[container] = 2
                    path.removeLast()
                    continue
                }
                path[path.count - 1].next += 1
                guard case .container(let child) = elements[next] else { continue }
                switch state[Int(child)] {
                case 1: return .malformed("a list contains itself (through the memo); expected nested lists of integers")
                case 2: continue
                default:
                    guard path.count < Arena.maximumDepth else {
                        return .malformed("lists are nested more than \(Arena.maximumDepth) deep; expected lists of integers")
                    }
                    state[Int(child)] = 1
                    path.append((Int(child), 0))
                }
            }
            return nil
        }

        enum ShapeProblem {
            case malformed(String)
            case overBudget
        }

        func value(_ slot: Slot) -> PickleValue {
            switch slot {
            case .int(let v): return .int(v)
            case .none: return .none
            case .bool(let b): return .bool(b)
            case .container(let c):
                let elements = containers[Int(c)].map(value)
                return isTuple[Int(c)] ? .tuple(elements) : .list(elements)
            }
        }
    }

    /// Decodes a whole pickle into a value tree of at most `budget` values (integers and lists,
    /// a list shared through the memo counted wherever it occurs); a larger one is an error that
    /// names the limit.
    public static func decode(_ bytes: [UInt8], file: String, budget: Int = InputLimits.maximumExampleValues) throws -> PickleValue {
        let arena = try parse(bytes, file: file, budget: budget)
        return arena.value(arena.root)
    }

    static func parse(_ bytes: [UInt8], file: String, budget: Int) throws -> Arena {
        try bytes.withUnsafeBufferPointer { try parse($0, file: file, budget: budget) }
    }

    static func parse(_ bytes: UnsafeBufferPointer<UInt8>, file: String, budget: Int) throws -> Arena {
        let n = bytes.count
        guard n > 0 else { throw SessionDataError(file: file, "empty file, expected a pickle (protocol 2 to 5)") }
        var machine = Machine(bytes: bytes, file: file)
        guard bytes[0] == PROTO else {
            throw machine.fail(0, "not a pickle of protocol 2 to 5: expected the PROTO opcode 0x80, found \(hex(bytes[0]))")
        }
        guard n >= 2 else {
            throw machine.fail(1, "truncated pickle: the file ends after the PROTO opcode, expected the protocol number (2 to 5)")
        }
        guard (2...5).contains(bytes[1]) else {
            throw machine.fail(1, "unsupported pickle protocol \(bytes[1]), expected 2 to 5")
        }
        machine.position = 2
        while true {
            guard machine.position < n else {
                throw machine.fail(n, "truncated pickle: the file ends before the STOP opcode")
            }
            let opOffset = machine.position
            let op = bytes[opOffset]
            machine.position += 1
            if op == STOP { return try machine.stop(at: opOffset, budget: budget) }
            try machine.execute(op, at: opOffset)
        }
    }

    /// The unpickler's state: the bytes, the read position, the stack, its marks and the memo, and
    /// the arena the values are built in. One opcode at a time (`execute`) until STOP.
    struct Machine {
        let bytes: UnsafeBufferPointer<UInt8>
        let file: String
        var position = 0
        var arena = Arena()
        var stack: [Slot] = []
        var marks: [Int] = []
        var memo: [Int: Slot] = [:]

        init(bytes: UnsafeBufferPointer<UInt8>, file: String) { (self.bytes, self.file) = (bytes, file) }

        func fail(_ offset: Int, _ message: String) -> SessionDataError {
            SessionDataError(file: file, location: .byteOffset(offset), message)
        }

        @inline(__always) func need(_ count: Int, _ op: String, at opOffset: Int) throws {
            if position + count > bytes.count {
                throw fail(opOffset, "truncated pickle: \(op) needs \(count) argument byte(s), the file ends at byte \(bytes.count)")
            }
        }

        @inline(__always) mutating func readLE(_ count: Int) -> UInt64 {
            var value: UInt64 = 0
            for k in 0..<count { value |= UInt64(bytes[position + k]) << (8 * UInt64(k)) }
            position += count
            return value
        }

        mutating func pop(_ op: String, at opOffset: Int) throws -> Slot {
            guard stack.count > (marks.last ?? 0) else { throw fail(opOffset, "malformed pickle: \(op) on an empty stack") }
            return stack.removeLast()
        }

        mutating func popMark(_ op: String, at opOffset: Int) throws -> [Slot] {
            guard let mark = marks.popLast() else { throw fail(opOffset, "malformed pickle: \(op) without a MARK") }
            let items = Array(stack[mark...])
            stack.removeSubrange(mark...)
            return items
        }

        mutating func append(_ items: [Slot], to target: Slot, _ op: String, at opOffset: Int) throws {
            guard case .container(let c) = target, !arena.isTuple[Int(c)] else {
                throw fail(opOffset, "malformed pickle: \(op) onto something that is not a list")
            }
            arena.containers[Int(c)].append(contentsOf: items)
        }

        /// Runs one opcode other than STOP.
        mutating func execute(_ op: UInt8, at opOffset: Int) throws {
            switch op {
            case BININT1, BININT2, BININT, LONG1: stack.append(.int(try integer(op, at: opOffset)))
            case EMPTY_LIST: stack.append(arena.make([], tuple: false))
            case EMPTY_TUPLE: stack.append(arena.make([], tuple: true))
            case MARK: marks.append(stack.count)
            case APPEND, APPENDS, LIST, TUPLE, TUPLE1, TUPLE2, TUPLE3: try buildContainer(op, at: opOffset)
            case NONE: stack.append(.none)
            case NEWTRUE: stack.append(.bool(true))
            case NEWFALSE: stack.append(.bool(false))
            case BINPUT, LONG_BINPUT, MEMOIZE, BINGET, LONG_BINGET: try useMemo(op, at: opOffset)
            case FRAME:
                try need(8, "FRAME", at: opOffset)
                let length = readLE(8)
                if UInt64(bytes.count - position) < length {
                    throw fail(opOffset, "truncated pickle: FRAME announces \(length) bytes, only \(bytes.count - position) remain")
                }
            case PROTO:
                try need(1, "PROTO", at: opOffset)
                position += 1
            case POP: _ = try pop("POP", at: opOffset)
            case POP_MARK: _ = try popMark("POP_MARK", at: opOffset)
            case DUP:
                guard let top = stack.last else { throw fail(opOffset, "malformed pickle: DUP on an empty stack") }
                stack.append(top)
            default:
                let name = opcodeNames[op].map { " (\($0))" } ?? ""
                let printable = (0x21...0x7E).contains(op) ? " '\(Character(Unicode.Scalar(op)))'" : ""
                throw fail(
                    opOffset,
                    "unsupported pickle opcode \(hex(op))" + printable + name
                        + ", expected only lists, tuples and integers")
            }
        }

        /// The argument of BININT1, BININT2, BININT or LONG1 (at most 8 bytes, sign-extended).
        mutating func integer(_ op: UInt8, at opOffset: Int) throws -> Int {
            switch op {
            case BININT1:
                try need(1, "BININT1", at: opOffset)
                return Int(readLE(1))
            case BININT2:
                try need(2, "BININT2", at: opOffset)
                return Int(readLE(2))
            case BININT:
                try need(4, "BININT", at: opOffset)
                return Int(Int32(truncatingIfNeeded: UInt32(readLE(4))))
            default:
                try need(1, "LONG1", at: opOffset)
                let length = Int(readLE(1))
                guard length <= 8 else { throw fail(opOffset, "LONG1 integer of \(length) bytes is too large, expected at most 8") }
                try need(length, "LONG1", at: opOffset)
                var value = readLE(length)
                if length > 0 && length < 8 && value & (1 << (8 * UInt64(length) - 1)) != 0 {
                    value |= ~((1 << (8 * UInt64(length))) - 1)  // sign-extend
                }
                return Int(Int64(bitPattern: value))
            }
        }

        /// APPEND, APPENDS, LIST, TUPLE and TUPLE1–3.
        mutating func buildContainer(_ op: UInt8, at opOffset: Int) throws {
            switch op {
            case APPEND:
                let item = try pop("APPEND", at: opOffset)
                guard let target = stack.last, (marks.last ?? 0) < stack.count else {
                    throw fail(opOffset, "malformed pickle: APPEND without a list")
                }
                try append([item], to: target, "APPEND", at: opOffset)
            case APPENDS:
                let items = try popMark("APPENDS", at: opOffset)
                guard let target = stack.last else { throw fail(opOffset, "malformed pickle: APPENDS without a list") }
                try append(items, to: target, "APPENDS", at: opOffset)
            case LIST:
                stack.append(arena.make(try popMark("LIST", at: opOffset), tuple: false))
            case TUPLE:
                stack.append(arena.make(try popMark("TUPLE", at: opOffset), tuple: true))
            default:
                let k = Int(op - TUPLE1) + 1
                guard stack.count - (marks.last ?? 0) >= k else {
                    throw fail(opOffset, "malformed pickle: TUPLE\(k) needs \(k) item(s) on the stack")
                }
                let items = Array(stack.suffix(k))
                stack.removeLast(k)
                stack.append(arena.make(items, tuple: true))
            }
        }

        /// BINPUT, LONG_BINPUT, MEMOIZE (store the top) and BINGET, LONG_BINGET (push a stored value).
        mutating func useMemo(_ op: UInt8, at opOffset: Int) throws {
            switch op {
            case BINGET, LONG_BINGET:
                let size = op == BINGET ? 1 : 4
                try need(size, op == BINGET ? "BINGET" : "LONG_BINGET", at: opOffset)
                let key = Int(readLE(size))
                guard let value = memo[key] else { throw fail(opOffset, "malformed pickle: memo key \(key) was never stored") }
                stack.append(value)
            default:
                let key: Int
                if op == BINPUT {
                    try need(1, "BINPUT", at: opOffset)
                    key = Int(readLE(1))
                } else if op == LONG_BINPUT {
                    try need(4, "LONG_BINPUT", at: opOffset)
                    key = Int(readLE(4))
                } else {
                    key = memo.count
                }
                guard let top = stack.last else { throw fail(opOffset, "malformed pickle: memo store on an empty stack") }
                memo[key] = top
            }
        }

        /// STOP: the one value left is the pickle, checked for shape and against the budget.
        mutating func stop(at opOffset: Int, budget: Int) throws -> Arena {
            guard stack.count == 1, marks.isEmpty else {
                throw fail(opOffset, "malformed pickle: STOP with \(stack.count) values on the stack, expected 1")
            }
            arena.root = stack[0]
            switch arena.checkShape(budget: budget) {
            case nil: return arena
            case .malformed(let problem): throw fail(opOffset, "malformed pickle: " + problem)
            case .overBudget:
                throw SessionDataError(
                    file: file,
                    "the pickle expands to more values (integers and lists, a list shared through the memo counted wherever it occurs) than the limit of \(budget) (a memory budget, not malformed data; see docs/DATASET.md, Limits)"
                )
            }
        }
    }

    static func hex(_ byte: UInt8) -> String {
        let digits = Array("0123456789abcdef")
        return "0x" + String(digits[Int(byte >> 4)]) + String(digits[Int(byte & 0xF)])
    }

    // MARK: Shapes used by SR-GNN folders

    /// Reads `all_train_seq.txt`: a list of non-empty lists of item ids (≥ 1), every session
    /// whole. A pickle expanding to more than `budget` values is refused with a limit message.
    public static func readSessions(_ bytes: [UInt8], file: String, budget: Int = InputLimits.maximumExampleValues) throws -> SessionList {
        let arena = try parse(bytes, file: file, budget: budget)
        var sessions = SessionList()
        let outer = try list(arena.root, arena, file: file, what: "the top-level value (a list of sessions)")
        sessions.offsets.reserveCapacity(outer.count + 1)
        for (s, slot) in outer.enumerated() {
            let inner = try list(slot, arena, file: file, what: "session \(s)")
            guard !inner.isEmpty else {
                throw SessionDataError(file: file, "session \(s): expected at least one item id, found an empty list")
            }
            for (k, element) in inner.enumerated() {
                sessions.items.append(try itemID(element, file: file, what: "session \(s), element \(k)"))
            }
            sessions.offsets.append(sessions.items.count)
        }
        return sessions
    }

    /// Reads `train.txt` / `test.txt`: `(prefixes, labels)` as a tuple or a 2-element list. Every
    /// prefix must hold at least one item id and is kept whole. A pickle expanding to more than
    /// `budget` values (the examples' prefix clicks and labels count among them) is refused with
    /// a limit message.
    public static func readExamples(_ bytes: [UInt8], file: String, budget: Int = InputLimits.maximumExampleValues) throws -> ExampleSet {
        let arena = try parse(bytes, file: file, budget: budget)
        guard case .container(let c) = arena.root, arena.containers[Int(c)].count == 2 else {
            throw SessionDataError(
                file: file, "expected a pair (prefixes, labels) as a tuple or a 2-element list, found \(describe(arena.root, arena))")
        }
        let pair = arena.containers[Int(c)]
        let prefixes = try list(pair[0], arena, file: file, what: "the prefixes (first element)")
        let labels = try list(pair[1], arena, file: file, what: "the labels (second element)")
        guard prefixes.count == labels.count else {
            throw SessionDataError(
                file: file, "expected as many labels as prefixes, found \(prefixes.count) prefixes and \(labels.count) labels")
        }
        var examples = ExampleSet()
        var prefix: [Int32] = []
        for (i, slot) in prefixes.enumerated() {
            let inner = try list(slot, arena, file: file, what: "prefix \(i)")
            guard !inner.isEmpty else {
                throw SessionDataError(file: file, "example \(i): expected a prefix of at least one item id, found an empty list")
            }
            prefix.removeAll(keepingCapacity: true)
            for (k, element) in inner.enumerated() {
                prefix.append(try itemID(element, file: file, what: "prefix \(i), element \(k)"))
            }
            examples.append(prefix: prefix, target: try itemID(labels[i], file: file, what: "label \(i)"))
        }
        return examples
    }

    private static func list(_ slot: Slot, _ arena: Arena, file: String, what: String) throws -> [Slot] {
        guard case .container(let c) = slot else {
            throw SessionDataError(file: file, "\(what): expected a list, found \(describe(slot, arena))")
        }
        return arena.containers[Int(c)]
    }

    private static func itemID(_ slot: Slot, file: String, what: String) throws -> Int32 {
        guard case .int(let v) = slot, v >= 1, v <= Int(Int32.max) else {
            throw SessionDataError(file: file, "\(what): expected an item id (an integer ≥ 1), found \(describe(slot, nil))")
        }
        return Int32(v)
    }

    private static func describe(_ slot: Slot, _ arena: Arena?) -> String {
        switch slot {
        case .int(let v): return "the integer \(v)"
        case .none: return "None"
        case .bool(let b): return b ? "True" : "False"
        case .container(let c):
            guard let arena else { return "a container" }
            return (arena.isTuple[Int(c)] ? "a tuple" : "a list") + " of \(arena.containers[Int(c)].count) element(s)"
        }
    }

    // MARK: Writing

    /// Encodes `value` the way CPython's pickler does for lists, tuples and ints: lists as
    /// `EMPTY_LIST`, memo, then batches of up to 1000 items in `MARK … APPENDS` (one item: `APPEND`);
    /// protocols 2–3 memoise with `BINPUT`/`LONG_BINPUT`, 4–5 with `MEMOIZE` inside 64 KiB frames.
    public static func encode(_ value: PickleValue, protocol version: Int = 4) -> [UInt8] {
        precondition((2...5).contains(version), "pickle protocol must be 2 to 5")
        var writer = Writer(framed: version >= 4)
        writer.output = [PROTO, UInt8(version)]
        writer.write(value)
        writer.emit([STOP])
        writer.flushFrame()
        return writer.output
    }

    /// `all_train_seq.txt`: a list of sessions.
    public static func encode(_ sessions: SessionList, protocol version: Int = 4) -> [UInt8] {
        encode(.list((0..<sessions.count).map { s in .list(sessions[s].map { .int(Int($0)) }) }), protocol: version)
    }

    /// `train.txt` / `test.txt`: `(prefixes, labels)`, as a tuple (the reference) or a 2-element list.
    public static func encode(_ examples: ExampleSet, protocol version: Int = 4, asList: Bool = false) -> [UInt8] {
        let prefixes = PickleValue.list((0..<examples.count).map { i in .list(examples.prefix(i).map { .int(Int($0)) }) })
        let labels = PickleValue.list(examples.targets.map { .int(Int($0)) })
        return encode(asList ? .list([prefixes, labels]) : .tuple([prefixes, labels]), protocol: version)
    }

    struct Writer {
        let framed: Bool
        var output: [UInt8] = []
        var frame: [UInt8] = []
        var memoCount = 0

        init(framed: Bool) { self.framed = framed }

        /// Appends one complete opcode; frames are committed at opcode boundaries once ≥ 64 KiB.
        mutating func emit(_ bytes: [UInt8]) {
            if framed {
                frame.append(contentsOf: bytes)
                if frame.count >= 65536 { flushFrame() }
            } else {
                output.append(contentsOf: bytes)
            }
        }

        mutating func flushFrame() {
            guard framed, !frame.isEmpty else { return }
            output.append(FRAME)
            var length = UInt64(frame.count)
            for _ in 0..<8 { output.append(UInt8(length & 0xFF)); length >>= 8 }
            output.append(contentsOf: frame)
            frame.removeAll(keepingCapacity: true)
        }

        mutating func memoize() {
            if framed {
                emit([MEMOIZE])
            } else if memoCount < 256 {
                emit([BINPUT, UInt8(memoCount)])
            } else {
                let k = UInt32(memoCount)
                emit([LONG_BINPUT, UInt8(k & 0xFF), UInt8((k >> 8) & 0xFF), UInt8((k >> 16) & 0xFF), UInt8(k >> 24)])
            }
            memoCount += 1
        }

        mutating func write(_ value: PickleValue) {
            switch value {
            case .int(let v):
                if (0...0xFF).contains(v) {
                    emit([BININT1, UInt8(v)])
                } else if (0...0xFFFF).contains(v) {
                    emit([BININT2, UInt8(v & 0xFF), UInt8(v >> 8)])
                } else if let v32 = Int32(exactly: v) {
                    let u = UInt32(bitPattern: v32)
                    emit([BININT, UInt8(u & 0xFF), UInt8((u >> 8) & 0xFF), UInt8((u >> 16) & 0xFF), UInt8(u >> 24)])
                } else {
                    let u = UInt64(bitPattern: Int64(v))
                    emit([LONG1, 8] + (0..<8).map { UInt8((u >> (8 * UInt64($0))) & 0xFF) })
                }
            case .none: emit([NONE])
            case .bool(let b): emit([b ? NEWTRUE : NEWFALSE])
            case .list(let elements):
                emit([EMPTY_LIST])
                memoize()
                var start = 0
                while start < elements.count {
                    let batch = elements[start..<min(start + 1000, elements.count)]
                    if batch.count == 1 {
                        write(batch[batch.startIndex])
                        emit([APPEND])
                    } else {
                        emit([MARK])
                        for element in batch { write(element) }
                        emit([APPENDS])
                    }
                    start += batch.count
                }
            case .tuple(let elements):
                if elements.isEmpty {
                    emit([EMPTY_TUPLE])
                    return
                }
                if elements.count <= 3 {
                    for element in elements { write(element) }
                    emit([TUPLE1 + UInt8(elements.count - 1)])
                } else {
                    emit([MARK])
                    for element in elements { write(element) }
                    emit([TUPLE])
                }
                memoize()
            }
        }
    }
}
