"""CSV and XLSX exports of the reports (``?format=csv`` / ``?format=xlsx``).

A report is nested JSON; a spreadsheet wants tables. :func:`tabulate` walks a
report and makes one table per part: the header, the totals, each list
(accounts, daily series, transfers) and each dimension's rows. The XLSX has one
sheet per table; the CSV is one long table whose first column names the table,
so ``csv.DictReader`` reads it back. Amounts keep their two places: strings in
the CSV, numbers formatted ``#,##0.00`` in the XLSX.
"""

import csv
import datetime
import io
from decimal import Decimal

from rest_framework import renderers

XLSX_MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
SHEET_ABBREVIATIONS = (("by_dimension", "dim"), ("cash_submissions", "cash"), ("unreconciled", "unrec"))


def _is_scalar(value):
    return not isinstance(value, (dict, list))


def _scalar_part(row):
    part = {}
    for key, value in row.items():
        if _is_scalar(value):
            part[key] = value
        # An empty list is no value: joined to "", it made blank columns and tables of nothing.
        elif isinstance(value, list) and value and all(_is_scalar(item) for item in value):
            part[key] = ";".join(str(item) for item in value)
    return part


def tabulate(report):
    """Return ``[(name, headers, rows)]``: the tables of a report, rows as dicts of plain values."""
    tables = []

    def add(name, rows):
        headers = []
        for row in rows:
            headers.extend(key for key in row if key not in headers)
        tables.append((name, headers, rows))

    def walk(name, value):
        scalars = _scalar_part(value)
        if scalars:
            add(name, [scalars])
        for key, part in value.items():
            path = f"{name}.{key}" if name != "report" else key
            if isinstance(part, dict) and part and all(isinstance(v, dict) for v in part.values()):
                if all(all(_is_scalar(x) for x in v.values()) for v in part.values()):
                    add(path, [{"key": k, **v} for k, v in part.items()])
                else:
                    walk(path, part)
            elif isinstance(part, dict):
                walk(path, part)
            elif isinstance(part, list) and part and isinstance(part[0], dict):
                add(path, [_scalar_part(row) for row in part])
                nested = [
                    {"parent_id": row.get("id", ""), **_scalar_part(child)}
                    for row in part
                    for key2, children in row.items()
                    if isinstance(children, list) and children and isinstance(children[0], dict)
                    for child in children
                ]
                if nested:
                    add(f"{path}.items", nested)

    walk("report", report)
    return tables


# A spreadsheet opening the CSV runs a cell that starts with one of these as a formula
# (=HYPERLINK(...) in a transfer reference or a cost centre's name, say).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _csv_value(value):
    if value is None:
        return ""
    if isinstance(value, str):
        # OWASP's defence: a leading apostrophe, which spreadsheets show as text and do not print.
        return "'" + value if value.startswith(FORMULA_STARTS) else value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime.datetime):
        return value.isoformat()
    if isinstance(value, (datetime.date, Decimal)):
        return str(value) if isinstance(value, datetime.date) else f"{value:.2f}"
    return value


class CSVRenderer(renderers.BaseRenderer):
    media_type = "text/csv"
    format = "csv"
    charset = "utf-8"

    def render(self, data, accepted_media_type=None, renderer_context=None):
        headers = ["table"]
        for _name, table_headers, _rows in data:
            headers.extend(h for h in table_headers if h not in headers)
        out = io.StringIO()
        writer = csv.DictWriter(out, fieldnames=headers, lineterminator="\n")
        writer.writeheader()
        for name, _headers, rows in data:
            for row in rows:
                writer.writerow({"table": name, **{k: _csv_value(v) for k, v in row.items()}})
        return out.getvalue().encode(self.charset)


def _sheet_title(name, used):
    title = name
    for long, short in SHEET_ABBREVIATIONS:
        title = title.replace(long, short)
    title = title[:31]
    base, number = title, 2
    while title in used:
        suffix = f"~{number}"
        title, number = base[: 31 - len(suffix)] + suffix, number + 1
    used.add(title)
    return title


# A spreadsheet number is a double: 15 significant digits, so cents are exact below 10**13.
EXACT_NUMBER_LIMIT = Decimal(10) ** 13


class XLSXRenderer(renderers.BaseRenderer):
    media_type = XLSX_MEDIA_TYPE
    format = "xlsx"
    charset = None
    render_style = "binary"

    def render(self, data, accepted_media_type=None, renderer_context=None):
        # Imported here so that the JSON API starts without the spreadsheet library loaded.
        from openpyxl import Workbook
        from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

        workbook = Workbook()
        workbook.remove(workbook.active)
        used = set()
        for name, headers, rows in data:
            sheet = workbook.create_sheet(_sheet_title(name, used))
            sheet.append(["table", *headers])
            for row in rows:
                values = [name]
                for header in headers:
                    value = row.get(header)
                    if isinstance(value, Decimal) and abs(value) >= EXACT_NUMBER_LIMIT:
                        value = f"{value:.2f}"  # beyond a spreadsheet number's 15 digits: exact as text
                    elif isinstance(value, datetime.datetime):
                        value = value.isoformat()  # Excel has no time zones; keep the exact instant as text.
                    elif isinstance(value, str):
                        # A control character (a vertical tab pasted into a name) cannot be stored
                        # in a worksheet, and openpyxl refuses the whole file: it becomes U+FFFD (�).
                        value = ILLEGAL_CHARACTERS_RE.sub("\ufffd", value)
                    values.append(value)
                sheet.append(values)
                for cell in sheet[sheet.max_row]:
                    if isinstance(cell.value, Decimal):
                        cell.number_format = "#,##0.00"
                    elif cell.data_type == "f":
                        # openpyxl stores any text starting with "=" as a formula; names and
                        # references are text, kept exactly as typed and never run.
                        cell.data_type = "s"
        out = io.BytesIO()
        workbook.save(out)
        return out.getvalue()
