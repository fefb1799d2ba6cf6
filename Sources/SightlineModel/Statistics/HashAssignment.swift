/// Deterministic hash assignment for customer-level experiments: a unit is treated when
/// mix(FNV-1a-64("salt:unit")) ÷ 2⁶⁴ < share, where mix is MurmurHash3's 64-bit finaliser.
/// Any system can reproduce it. The finaliser matters: plain FNV-1a's high bits barely
/// change between salts that differ in one character, which would make two experiments'
/// splits overlap (a test checks they are independent).
public enum HashAssignment {
  /// Whether `unit` falls in the treatment arm.
  public static func isTreated(unit: String, salt: String, treatmentShare: Double) -> Bool {
    var hash: UInt64 = 0xcbf2_9ce4_8422_2325
    for byte in "\(salt):\(unit)".utf8 {
      hash ^= UInt64(byte)
      hash = hash &* 0x0000_0100_0000_01B3
    }
    hash ^= hash >> 33
    hash = hash &* 0xff51_afd7_ed55_8ccd
    hash ^= hash >> 33
    hash = hash &* 0xc4ce_b9fe_1a85_ec53
    hash ^= hash >> 33
    return Double(hash) / 18_446_744_073_709_551_616.0 < treatmentShare
  }
}
