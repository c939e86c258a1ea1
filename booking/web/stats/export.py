"""A statistics table as CSV or XLSX (openpyxl), with the filters it was made with."""

from __future__ import annotations

import csv
import io
from datetime import date

from openpyxl import Workbook
from openpyxl.styles import Font

from booking.web.stats.tables import Table

XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _plain(value):
    if isinstance(value, date):
        return value.isoformat()
    return "" if value is None else value


def to_csv(table: Table, filters: list[tuple[str, str]]) -> bytes:
    """Comma-separated, UTF-8 with a byte order mark (spreadsheets then read umlauts);
    the filters first, as comment lines."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    for name, value in filters:
        writer.writerow([f"# {name}", value])
    writer.writerow([str(h) for h in table.headers])
    for row in table.rows:
        writer.writerow([_plain(v) for v in row])
    return out.getvalue().encode("utf-8-sig")


def to_xlsx(table: Table, filters: list[tuple[str, str]], filter_title: str) -> bytes:
    """The table on the first sheet (bold header row, frozen), the filters on a second."""
    book = Workbook()
    sheet = book.active
    sheet.title = table.key[:31]
    sheet.append([str(h) for h in table.headers])
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    sheet.freeze_panes = "A2"
    for row in table.rows:
        sheet.append([_plain(v) if isinstance(v, date) else v for v in row])
    info = book.create_sheet(filter_title[:31])
    info.append([table.caption])
    for name, value in filters:
        info.append([name, value])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
