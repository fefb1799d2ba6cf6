#!/usr/bin/env python3
"""Writes the labelled corpus that PersonalDataTests measures redaction against.

    python3 scripts/pii-corpus.py > Tests/SightlineTests/Fixtures/pii-corpus.jsonl

Each line is one text, in Chinese or English, as customers write comments and chats,
with the personal data and the look-alikes placed in it labelled by their code-point
offsets (the same as Swift's Unicode scalar offsets):

    {"text": "...", "items": [{"kind": "phone", "start": 4, "end": 15, "pii": true}, ...]}

Personal data (`pii: true`): mainland mobile numbers (+86/0086, spaces, dashes,
full-width digits), 18-digit resident ID numbers with a valid MOD 11-2 check character
and birth date, bank card numbers passing Luhn (and 62-prefixed ones failing it next to
a context word), e-mail addresses.

Look-alikes (`pii: false`): order and tracking numbers, timestamps, amounts, landlines,
and invalid phones, ID numbers (wrong check character or date) and card numbers (failing
Luhn, without a context word).

The checks here are written from their specifications (GB 11643-1999, ISO/IEC 7812),
independently of Sources/SightlineModel/Text/PersonalData.swift. Seeded: the output is
the same on every run.
"""

import datetime
import json
import random

rng = random.Random(2026)

FULL_WIDTH = str.maketrans("0123456789+-", "０１２３４５６７８９＋－")


def luhn_ok(digits):
    total = 0
    for position, ch in enumerate(reversed(digits)):
        value = int(ch) * (2 if position % 2 else 1)
        total += value - 9 if value > 9 else value
    return total % 10 == 0


def luhn_complete(prefix_without_check):
    for check in "0123456789":
        if luhn_ok(prefix_without_check + check):
            return prefix_without_check + check
    raise AssertionError


def id_check(first17):
    weights = [2 ** (17 - i) % 11 for i in range(17)]  # 7 9 10 5 8 4 2 1 6 3 7 9 10 5 8 4 2
    total = sum(int(d) * w for d, w in zip(first17, weights))
    return "10X98765432"[total % 11]


def digits(n):
    return "".join(rng.choice("0123456789") for _ in range(n))


def mobile():
    return "1" + rng.choice("3456789") + digits(9)


REGIONS = ["110101", "310104", "440305", "330106", "510107", "420102", "320102", "370202", "610113", "500103"]


def birth_date():
    start = datetime.date(1950, 1, 1)
    return (start + datetime.timedelta(days=rng.randrange(0, 365 * 58))).strftime("%Y%m%d")


def resident_id():
    first17 = rng.choice(REGIONS) + birth_date() + digits(3)
    return first17 + id_check(first17)


def card(prefix, length):
    return luhn_complete(prefix + digits(length - len(prefix) - 1))


def failing_card(prefix, length):
    number = card(prefix, length)
    return number[:-1] + str((int(number[-1]) + rng.randrange(1, 10)) % 10)


def grouped(number, size=4, sep=" "):
    return sep.join(number[i : i + size] for i in range(0, len(number), size))


# ---- personal data, as people write it ----


def phone_written():
    number = mobile()
    style = rng.randrange(9)
    if style == 0:
        return number
    if style == 1:
        return "+86 " + number[:3] + " " + number[3:7] + " " + number[7:]
    if style == 2:
        return "+86" + number
    if style == 3:
        return "0086-" + number[:3] + "-" + number[3:7] + "-" + number[7:]
    if style == 4:
        return number[:3] + "-" + number[3:7] + "-" + number[7:]
    if style == 5:
        return number[:3] + " " + number[3:7] + " " + number[7:]
    if style == 6:
        return number.translate(FULL_WIDTH)
    if style == 7:
        return ("+86 " + number).translate(FULL_WIDTH)
    return "86" + number


def id_written():
    number = resident_id()
    style = rng.randrange(6)
    if style == 0 and number.endswith("X"):
        return number[:-1] + "x"
    if style == 1:
        return number[:6] + " " + number[6:14] + " " + number[14:]
    if style == 2:
        return number.translate(FULL_WIDTH)
    return number


def card_written():
    prefix, length = rng.choice([("62", 16), ("62", 19), ("622", 19), ("4", 16), ("5", 16), ("35", 16), ("2221", 16)])
    number = card(prefix, length)
    style = rng.randrange(4)
    if style == 0:
        return grouped(number)
    if style == 1:
        return grouped(number, sep="-")
    return number


DOMAINS = ["qq.com", "163.com", "126.com", "gmail.com", "outlook.com", "example.com.cn", "sina.cn", "corp-mail.net"]


def email_written():
    name = rng.choice(["zhang.wei", "li_na", "wangfang88", "chen-jie", "j.smith", "anna+shop", "liu2026", "hello"])
    return name + rng.choice(["", str(rng.randrange(100))]) + "@" + rng.choice(DOMAINS)


# ---- look-alikes ----


def lookalike():
    kind = rng.choice(
        [
            "order",
            "order_prefixed",
            "order_date",
            "order_pdd",
            "tracking",
            "timestamp",
            "timestamp_compact",
            "unix_ms",
            "amount",
            "amount_plain",
            "landline",
            "invalid_phone",
            "invalid_id_check",
            "invalid_id_date",
            "invalid_card",
            "invalid_unionpay",
            "short_code",
        ]
    )
    if kind == "order":  # JD-style order numbers
        return kind, rng.choice("123456789") + digits(rng.randrange(9, 12))
    if kind == "order_prefixed":
        return kind, rng.choice(["SO", "PO", "DD", "NO"]) + digits(rng.randrange(10, 16))
    if kind == "order_date":  # YYYYMMDD then a sequence, 16-20 digits
        return kind, "2026" + "%02d%02d" % (rng.randrange(1, 13), rng.randrange(1, 29)) + digits(rng.randrange(8, 13))
    if kind == "order_pdd":
        return kind, "26%02d%02d-" % (rng.randrange(1, 13), rng.randrange(1, 29)) + digits(15)
    if kind == "tracking":
        return kind, rng.choice(["SF", "YT", "JT", "ZTO"]) + digits(rng.randrange(12, 16))
    if kind in ("timestamp", "timestamp_compact"):
        parts = (rng.randrange(1, 13), rng.randrange(1, 29), rng.randrange(24), rng.randrange(60), rng.randrange(60))
        pattern = "2026-%02d-%02d %02d:%02d:%02d" if kind == "timestamp" else "2026%02d%02d%02d%02d%02d"
        return kind, pattern % parts
    if kind == "unix_ms":
        return kind, str(rng.randrange(1_700_000_000_000, 1_800_000_000_000))
    if kind == "amount":
        return kind, "¥" + "{:,}".format(rng.randrange(1000, 99_999_999)) + "." + digits(2)
    if kind == "amount_plain":
        return kind, str(rng.randrange(10_000_000_000, 19_999_999_999)) + "." + digits(2)
    if kind == "landline":
        return kind, rng.choice(["010-", "021-", "0755-", "(020) "]) + rng.choice("2345678") + digits(7)
    if kind == "invalid_phone":  # 1 then 0-2, or one digit short or long
        style = rng.randrange(3)
        if style == 0:
            return kind, "1" + rng.choice("012") + digits(9)
        return kind, mobile()[:-1] if style == 1 else mobile() + rng.choice("0123456789")
    if kind == "invalid_id_check":
        number = resident_id()
        wrong = rng.choice([c for c in "0123456789X" if c != number[-1]])
        return kind, number[:-1] + wrong
    if kind == "invalid_id_date":
        first17 = rng.choice(REGIONS) + "19%02d%02d%02d" % (rng.randrange(100), rng.choice([0, 13, 14, 19]), rng.randrange(1, 29)) + digits(3)
        return kind, first17 + id_check(first17)
    if kind == "invalid_card":
        return kind, failing_card(rng.choice(["4", "5", "35"]), rng.choice([16, 19]))
    if kind == "invalid_unionpay":  # fails Luhn, no context word: not flagged
        return kind, failing_card("62", rng.choice([16, 19]))
    return kind, digits(rng.randrange(4, 9))


# ---- texts ----

ZH_PII = {
    "phone": ["客户手机{}", "请回电{}", "联系方式：{}", "我的电话是{}，请尽快联系", "手机号{}打不通"],
    "id_number": ["身份证号{}", "实名认证用的是{}", "证件号码：{}"],
    "bank_card": ["退款请打到{}", "卡号{}", "银行卡{}扣了两次款"],
    "email": ["发票请发到{}谢谢", "邮箱{}", "已发邮件到{}"],
}
EN_PII = {
    "phone": ["call me at {}", "my number is {}, please call back", "phone: {}", "reach me on {} after 6pm"],
    "id_number": ["my ID number is {}", "ID {} was rejected"],
    "bank_card": ["refund to {} please", "charged twice on {}", "my card {} was declined"],
    "email": ["send the invoice to {}", "email me at {}.", "contact: {}"],
}
ZH_LOOKALIKE = ["订单号{}", "订单{}还没发货", "{}下单的", "金额{}", "快递单号{}", "编号{}", "工单{}已关闭", "时间{}"]
EN_LOOKALIKE = ["order {} not shipped", "order #{} arrived late", "paid {} yesterday", "tracking {}", "at {} nobody answered", "ticket {} closed"]
ZH_FILLER = ["物流太慢了", "客服态度很好", "退款一直没到账", "产品质量不错", "等了很久没人回复", "问题已经解决了"]
EN_FILLER = ["delivery was slow", "the agent was helpful", "refund still missing", "great product", "nobody answered for days", "issue resolved"]


def unionpay_with_context(chinese):
    number = failing_card("62", rng.choice([16, 19]))
    return (rng.choice(["卡号{}", "银行卡号：{}"]) if chinese else "card {} declined").format(number), number


def text():
    chinese = rng.random() < 0.5
    pieces = []  # (fragment with one {} or none, value or None, kind, pii)
    for _ in range(rng.randrange(1, 4)):
        roll = rng.random()
        if roll < 0.45:
            kind = rng.choice(["phone", "phone", "id_number", "bank_card", "email"])
            if kind == "bank_card" and rng.random() < 0.1:
                fragment, value = unionpay_with_context(chinese)
                pieces.append((fragment.replace(value, "{}"), value, "bank_card", True))
                continue
            value = {"phone": phone_written, "id_number": id_written, "bank_card": card_written, "email": email_written}[kind]()
            pieces.append((rng.choice((ZH_PII if chinese else EN_PII)[kind]), value, kind, True))
        elif roll < 0.9:
            kind, value = lookalike()
            pieces.append((rng.choice(ZH_LOOKALIKE if chinese else EN_LOOKALIKE), value, kind, False))
        else:
            pieces.append((rng.choice(ZH_FILLER if chinese else EN_FILLER), None, None, False))
    out, items = "", []
    joiner = "，" if chinese else ", "
    for i, (fragment, value, kind, pii) in enumerate(pieces):
        if i:
            out += joiner
        if value is None:
            out += fragment
            continue
        before, after = fragment.split("{}")
        out += before
        items.append({"kind": kind, "start": len(out), "end": len(out) + len(value), "pii": pii})
        out += value + after
    return {"text": out, "items": items}


if __name__ == "__main__":
    for _ in range(12_000):
        print(json.dumps(text(), ensure_ascii=False))
