#!/usr/bin/env python3
"""Builds the import tests' fixtures with the tools users' files come from.

Used only in the tests' set-up (Tests/SightlineTests/HelpdeskImportTests.swift):

  import-fixtures.py bom-csv IN OUT
      IN (UTF-8 CSV) as Excel's "CSV UTF-8" writes it: a byte-order mark and CRLF.
  import-fixtures.py xlsx IN OUT [--sheet NAME] [--dates COL,COL] [--date1904] [--numbers COL,COL] [--shared-strings]
      IN (UTF-8 CSV) as a workbook written by openpyxl: a first sheet "说明" (notes) when
      --sheet is given, then the data sheet. Columns named in --dates hold real Excel
      datetimes (local, naive, as Excel keeps them), in --numbers real numbers; the rest
      text. Empty cells stay empty. openpyxl writes text inline; --shared-strings then moves
      it to a shared-string table as Excel does (each text once, the first as rich-text
      runs with a phonetic guide that is not part of the text).
  import-fixtures.py broken-xlsx IN OUT KIND
      A workbook from IN, then broken: KIND is truncated-zip, truncated-sheet,
      bad-reference, bad-shared-string or no-workbook.

openpyxl is used, not a hand-written zip: the fixtures are what a real writer makes.
"""
import csv
import datetime
import io
import re
import sys
import zipfile


def read_csv(path):
    with open(path, newline="", encoding="utf-8") as handle:
        return list(csv.reader(handle))


def bom_csv(source, target):
    rows = read_csv(source)
    out = io.StringIO()
    csv.writer(out, lineterminator="\r\n").writerows(rows)
    with open(target, "wb") as handle:
        handle.write(b"\xef\xbb\xbf" + out.getvalue().encode("utf-8"))


def parse_local(text):
    for form in ("%Y-%m-%d %H:%M:%S.%f", "%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y/%m/%d %H:%M:%S", "%Y/%m/%d %H:%M"):
        try:
            return datetime.datetime.strptime(text, form)
        except ValueError:
            pass
    raise SystemExit(f"not a local time: {text!r}")


def rewrite(path, change):
    """Rewrites the parts of the zip at `path` with change(parts)."""
    with zipfile.ZipFile(path) as archive:
        parts = {name: archive.read(name) for name in archive.namelist()}
    change(parts)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in parts.items():
            archive.writestr(name, content)


def share_strings(parts):
    """Inline text cells → a shared-string table, as Excel writes workbooks."""
    strings = []
    index = {}

    def shared(match):
        text = match.group(3)
        if text not in index:
            index[text] = len(strings)
            strings.append(text)
        return f'<c r="{match.group(1)}"{match.group(2)} t="s"><v>{index[text]}</v></c>'

    for name in [n for n in parts if n.startswith("xl/worksheets/")]:
        parts[name] = re.sub(
            r'<c r="([A-Z]+[0-9]+)"([^>]*?) t="inlineStr"><is><t[^>]*>(.*?)</t></is></c>', shared, parts[name].decode()
        ).encode()
    items = []
    for number, text in enumerate(strings):
        if number == 0 and len(text) > 1:
            # Rich text: two runs, and a phonetic guide that is not part of the text.
            items.append(
                f"<si><r><t>{text[:1]}</t></r><r><rPr><b/></rPr><t>{text[1:]}</t></r>"
                f'<rPh sb="0" eb="1"><t>ふりがな</t></rPh></si>'
            )
        else:
            items.append(f'<si><t xml:space="preserve">{text}</t></si>')
    parts["xl/sharedStrings.xml"] = (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
        '<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
        f'count="{len(strings)}" uniqueCount="{len(strings)}">' + "".join(items) + "</sst>"
    ).encode()
    types = parts["[Content_Types].xml"].decode()
    if "sharedStrings" not in types:
        types = types.replace(
            "</Types>",
            '<Override PartName="/xl/sharedStrings.xml" '
            'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/></Types>',
        )
        parts["[Content_Types].xml"] = types.encode()
    rels = parts["xl/_rels/workbook.xml.rels"].decode()
    if "sharedStrings" not in rels:
        rels = rels.replace(
            "</Relationships>",
            '<Relationship Id="rIdShared" '
            'Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/sharedStrings" '
            'Target="sharedStrings.xml"/></Relationships>',
        )
        parts["xl/_rels/workbook.xml.rels"] = rels.encode()


def xlsx(source, target, sheet=None, dates=(), numbers=(), date1904=False, shared_strings=False):
    import openpyxl

    rows = read_csv(source)
    book = openpyxl.Workbook()
    first = book.active
    if sheet:
        first.title = "说明"
        first.append(["这张表不是数据 (not the data)"])
        data = book.create_sheet(sheet)
    else:
        data = first
    if date1904:
        book.epoch = openpyxl.utils.datetime.CALENDAR_MAC_1904
    header = rows[0]
    data.append(header)
    for row in rows[1:]:
        cells = []
        for name, value in zip(header, row):
            if value == "":
                cells.append(None)
            elif name in dates:
                cells.append(parse_local(value))
            elif name in numbers:
                cells.append(float(value) if "." in value else int(value))
            else:
                cells.append(value)
        data.append(cells)
    for column in data.iter_cols(min_row=2):
        for cell in column:
            if isinstance(cell.value, datetime.datetime):
                cell.number_format = "yyyy-mm-dd hh:mm:ss.000"
    book.save(target)
    if shared_strings:
        rewrite(target, share_strings)


def broken_xlsx(source, target, kind):
    whole = target + ".whole.xlsx"
    xlsx(source, whole, shared_strings=True)
    with open(whole, "rb") as handle:
        data = handle.read()
    if kind == "truncated-zip":
        with open(target, "wb") as handle:
            handle.write(data[: len(data) // 2])
        return
    parts = {}
    with zipfile.ZipFile(whole) as archive:
        for name in archive.namelist():
            parts[name] = archive.read(name)
    sheet = "xl/worksheets/sheet1.xml"
    if kind == "truncated-sheet":
        parts[sheet] = parts[sheet][: len(parts[sheet]) * 2 // 3]
    elif kind == "bad-reference":
        parts[sheet] = parts[sheet].replace(b'r="B2"', b'r="ZZZZ2"', 1)
    elif kind == "bad-shared-string":
        text = parts[sheet].decode()
        start = text.index('t="s"')
        value = text.index("<v>", start) + 3
        end = text.index("</v>", value)
        parts[sheet] = (text[:value] + "99999" + text[end:]).encode()
    elif kind == "no-workbook":
        del parts["xl/workbook.xml"]
    else:
        raise SystemExit(f"unknown kind {kind}")
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in parts.items():
            archive.writestr(name, content)


def main(arguments):
    command = arguments[0]
    if command == "bom-csv":
        bom_csv(arguments[1], arguments[2])
    elif command == "xlsx":
        options = {"sheet": None, "dates": (), "numbers": (), "date1904": False, "shared_strings": False}
        rest = arguments[3:]
        while rest:
            flag = rest.pop(0)
            if flag == "--sheet":
                options["sheet"] = rest.pop(0)
            elif flag == "--dates":
                options["dates"] = tuple(rest.pop(0).split(","))
            elif flag == "--numbers":
                options["numbers"] = tuple(rest.pop(0).split(","))
            elif flag == "--date1904":
                options["date1904"] = True
            elif flag == "--shared-strings":
                options["shared_strings"] = True
            else:
                raise SystemExit(f"unknown flag {flag}")
        xlsx(arguments[1], arguments[2], **options)
    elif command == "broken-xlsx":
        broken_xlsx(arguments[1], arguments[2], arguments[3])
    else:
        raise SystemExit(__doc__)


if __name__ == "__main__":
    main(sys.argv[1:])
