import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The text encodings an input file may be in. Excel on Chinese Windows saves "CSV" as
/// GBK (a subset of GB18030), "CSV UTF-8" as UTF-8 with a byte-order mark, and "Unicode
/// text" as UTF-16.
public enum InputEncoding: String, CaseIterable, Sendable, CustomStringConvertible {
  case utf8 = "utf-8", gb18030, gbk, utf16 = "utf-16"

  /// The name `iconv` knows it by.
  var iconvName: String {
    switch self {
    case .utf8: "UTF-8"
    case .gb18030: "GB18030"
    case .gbk: "GBK"
    // With a byte-order mark either order is read; without one, iconv assumes big-endian.
    case .utf16: "UTF-16"
    }
  }

  public var description: String {
    switch self {
    case .utf8: "UTF-8"
    case .gb18030: "GB18030"
    case .gbk: "GBK"
    case .utf16: "UTF-16"
    }
  }
}

/// A file's bytes that cannot be read in an encoding: where, in the file's own bytes.
public struct EncodingError: Error, Sendable, CustomStringConvertible {
  /// Offset of the first byte that does not decode.
  public var offset: Int
  /// Its line (1-based), counting line feeds before it.
  public var line: Int
  public var encoding: InputEncoding

  public var description: String {
    "not valid \(encoding) (the first bad byte is at offset \(offset), line \(line))"
  }
}

/// Turns the bytes of a file in any ``InputEncoding`` into UTF-8, a chunk at a time: a
/// character cut by a chunk's end is kept for the next chunk. A UTF-8 byte-order mark at
/// the start is dropped (Excel's "CSV UTF-8" writes one, and glued to the first header it
/// would hide that column).
struct TextTranscoder {
  let encoding: InputEncoding
  private let converter: IconvConverter?
  private var pending: [UInt8] = []
  private var atStart = true
  /// Bytes of the file consumed so far (converted or dropped).
  private var consumed = 0
  /// Line feeds seen in the file's bytes consumed so far (for error positions).
  private var lines = 1

  init(encoding: InputEncoding) throws {
    self.encoding = encoding
    converter = encoding == .utf8 ? nil : try IconvConverter(from: encoding.iconvName)
  }

  /// The UTF-8 text of the next chunk of the file.
  mutating func feed(_ bytes: [UInt8]) throws -> [UInt8] { try convert(pending + bytes, final: false) }

  /// The end of the file: bytes left over are an unfinished character.
  mutating func finish() throws -> [UInt8] {
    let output = try convert(pending, final: true)
    guard pending.isEmpty else { throw error(at: 0, in: pending) }
    return output
  }

  private mutating func convert(_ bytes: [UInt8], final: Bool) throws -> [UInt8] {
    var input = bytes
    pending = []
    if atStart {
      // Wait for three bytes before deciding about a byte-order mark.
      if input.count < 3 && encoding == .utf8 && !final {
        pending = input
        return []
      }
      atStart = false
      if encoding == .utf8, input.starts(with: [0xEF, 0xBB, 0xBF]) {
        input.removeFirst(3)
        consumed += 3
      }
    }
    guard let converter else {
      // UTF-8: pass through, keeping an unfinished character for the next chunk.
      let cut = Self.completeUTF8Prefix(input)
      let text = Array(input[..<cut])
      if String(validating: text, as: UTF8.self) == nil { throw error(at: RecordFileReader.firstInvalid(text), in: text) }
      pending = Array(input[cut...])
      count(text)
      return text
    }
    let (output, used, failure) = converter.convert(input)
    if let failure { throw error(at: failure, in: input) }
    count(Array(input[..<used]))
    pending = Array(input[used...])
    return output
  }

  private mutating func count(_ bytes: [UInt8]) {
    consumed += bytes.count
    lines += bytes.count { $0 == UInt8(ascii: "\n") }
  }

  private func error(at index: Int, in bytes: [UInt8]) -> EncodingError {
    let before = bytes.prefix(index).count { $0 == UInt8(ascii: "\n") }
    return EncodingError(offset: consumed + index, line: lines + before, encoding: encoding)
  }

  /// The length of the longest prefix of `bytes` that does not end inside a UTF-8
  /// character (continuation bytes 10xxxxxx and the lead byte they follow are held back).
  static func completeUTF8Prefix(_ bytes: [UInt8]) -> Int {
    var cut = bytes.count
    var backed = 0
    while cut > 0, backed < 3, bytes[cut - 1] & 0xC0 == 0x80 {
      cut -= 1
      backed += 1
    }
    guard cut > 0, bytes[cut - 1] >= 0xC0 else { return backed > 0 ? bytes.count : cut }
    let lead = bytes[cut - 1]
    let length = lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : 2
    // A lead byte whose continuation bytes are all here is complete.
    return backed + 1 >= length ? bytes.count : cut - 1
  }
}

/// glibc's `iconv`, to UTF-8: converts what it can, says how much input was used and
/// where the first byte that cannot be converted is. An input ending in the middle of a
/// character is left for the next call.
struct IconvConverter {
  private final class Handle {
    let descriptor: iconv_t
    init(_ descriptor: iconv_t) { self.descriptor = descriptor }
    deinit { iconv_close(descriptor) }
  }

  private let handle: Handle

  init(from name: String) throws {
    let descriptor = iconv_open("UTF-8", name)
    guard let descriptor, descriptor != iconv_t(bitPattern: -1) else {
      throw RecordReader.CSVError("this system cannot convert from \(name) (iconv has no such converter)")
    }
    handle = Handle(descriptor)
  }

  /// The UTF-8 of `input`, the bytes of it used, and the offset of a byte that does not
  /// convert (nil if none).
  func convert(_ input: [UInt8]) -> (output: [UInt8], used: Int, failure: Int?) {
    var output: [UInt8] = []
    output.reserveCapacity(input.count * 3 / 2 + 16)
    var buffer = [UInt8](repeating: 0, count: 1 << 16)
    var used = 0
    var failure: Int?
    var input = input
    input.withUnsafeMutableBufferPointer { source in
      buffer.withUnsafeMutableBufferPointer { target in
        var inPointer: UnsafeMutablePointer<CChar>? = UnsafeMutableRawPointer(source.baseAddress)?.assumingMemoryBound(to: CChar.self)
        var inLeft = source.count
        while inLeft > 0 {
          var outPointer: UnsafeMutablePointer<CChar>? = UnsafeMutableRawPointer(target.baseAddress!).assumingMemoryBound(to: CChar.self)
          var outLeft = target.count
          let result = iconv(handle.descriptor, &inPointer, &inLeft, &outPointer, &outLeft)
          output.append(contentsOf: target[0..<(target.count - outLeft)])
          used = source.count - inLeft
          if result != -1 { continue }
          switch errno {
          case E2BIG: continue  // the output buffer is full: empty it and go on
          case EINVAL: return  // an unfinished character at the end: for the next chunk
          default:
            failure = used
            return
          }
        }
      }
    }
    return (output, used, failure)
  }
}
